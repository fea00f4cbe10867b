from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from analytics import rollups
from analytics.models import Click, Delivery, Rollup
from tests.conftest import js_json, payload, post_webhook


def _dub_click(click_id: str, ip: str) -> bytes:
    body = payload("dub/link_clicked_real")
    body["data"]["click"].update(id=click_id, ip=ip)
    return js_json(body)


def test_ipv4_is_stored_truncated_to_its_network(client, dub_endpoint):
    post_webhook(client, dub_endpoint, _dub_click("aaaaaaaaaaaaaaa1", "203.0.113.77"))

    assert Click.objects.get().ip == "203.0.113.0"


def test_ipv6_is_stored_truncated_to_its_48(client, dub_endpoint):
    post_webhook(client, dub_endpoint, _dub_click("aaaaaaaaaaaaaaa1", "2001:db8:abcd:12:1::7"))

    assert Click.objects.get().ip == "2001:db8:abcd::"


def test_visitors_in_one_network_are_still_told_apart(client, dub_endpoint):
    post_webhook(client, dub_endpoint, _dub_click("aaaaaaaaaaaaaaa1", "203.0.113.77"))
    post_webhook(client, dub_endpoint, _dub_click("aaaaaaaaaaaaaaa2", "203.0.113.78"))

    assert list(Click.objects.values_list("is_unique", flat=True)) == [True, True]


def test_full_ip_is_kept_when_truncation_is_off(client, dub_endpoint, settings):
    settings.TRUNCATE_IPS = False

    post_webhook(client, dub_endpoint, _dub_click("aaaaaaaaaaaaaaa1", "203.0.113.77"))

    assert Click.objects.get().ip == "203.0.113.77"


@pytest.fixture
def old_and_new(client, dub_endpoint):
    post_webhook(client, dub_endpoint, _dub_click("aaaaaaaaaaaaaaa1", "203.0.113.1"))
    post_webhook(client, dub_endpoint, _dub_click("aaaaaaaaaaaaaaa2", "203.0.113.2"))
    old = timezone.now() - timedelta(days=40)
    Click.objects.filter(external_id="aaaaaaaaaaaaaaa1").update(occurred_at=old)
    Click.objects.filter(external_id="aaaaaaaaaaaaaaa2").update(occurred_at=timezone.now())
    Delivery.objects.filter(pk=Delivery.objects.earliest("pk").pk).update(received_at=old)


def test_retention_dry_run_counts_without_deleting(old_and_new):
    out = StringIO()

    call_command("apply_retention", "--days", "30", "--dry-run", stdout=out)

    assert "Would delete 1 clicks and 1 deliveries older than 30 days" in out.getvalue()
    assert (Click.objects.count(), Delivery.objects.count()) == (2, 2)


def test_retention_deletes_old_clicks_and_deliveries(old_and_new):
    out = StringIO()

    call_command("apply_retention", "--days", "30", stdout=out)

    assert "Deleted 1 clicks and 1 deliveries older than 30 days" in out.getvalue()
    assert list(Click.objects.values_list("external_id", flat=True)) == ["aaaaaaaaaaaaaaa2"]
    assert Delivery.objects.count() == 1


def test_retention_takes_deleted_clicks_out_of_the_rollups(old_and_new):
    rollups.update()

    call_command("apply_retention", "--days", "30", stdout=StringIO())

    totals = Rollup.objects.filter(dims=0, grain=Rollup.Grain.DAY).aggregate(Sum("clicks"))
    assert totals == {"clicks__sum": 1}


def test_retention_uses_the_configured_ages(old_and_new, settings):
    settings.CLICK_RETENTION_DAYS = 30
    settings.DELIVERY_RETENTION_DAYS = 0  # deliveries kept forever

    call_command("apply_retention", stdout=StringIO())

    assert (Click.objects.count(), Delivery.objects.count()) == (1, 2)


def test_retention_needs_an_age(db):
    with pytest.raises(CommandError, match="CLICK_RETENTION_DAYS"):
        call_command("apply_retention", stdout=StringIO())
