"""Dub only: how its click is normalized, where its campaign comes from (a link has UTM fields, a
URL UTM parameters) and its "Send test event" click. What every sender does (storage, redelivery,
authentication, bad bodies, reprocessing) is in tests/test_senders.py."""

import copy
from datetime import UTC, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.http import QueryDict
from django.urls import reverse

from analytics import stats
from analytics.filters import ClickFilter
from analytics.models import Campaign, Click, Delivery, Link, PendingRollup
from analytics.senders import dub
from tests.conftest import (
    accepted,
    js_json,
    outcome,
    payload,
    post_webhook,
    replace_parser,
    summary,
)

UTC_ZONE = ZoneInfo("UTC")  # the endpoint's default zone; Dub's times carry their offset
LAUNCH_URL = (
    "https://acme.example/launch?utm_source=linkedin&utm_medium=social&utm_campaign=launch-week"
)


@pytest.fixture
def link_clicked() -> dict:
    """A real click: Dub's documented shape, on a link with UTM fields (tests/payloads/dub)."""
    return payload("dub/link_clicked_real")


@pytest.fixture
def sample_event() -> dict:
    """What Dub's "Send test event" button sends: its sample-events/link-clicked.json as it is."""
    return payload("dub/link_clicked")


def _without_link_utm(event: dict) -> dict:
    event = copy.deepcopy(event)
    event["data"]["link"].update(utm_source=None, utm_medium=None, utm_campaign=None)
    return event


def _dub_clicks_in_february_2025() -> dict:
    """The dashboard's summary for the days of the sample clicks, bots included."""
    query = QueryDict("range=custom&from=2025-02-01&to=2025-02-05&tz=UTC&bots=include")
    return stats.summary(ClickFilter.from_query(query, now=datetime(2025, 2, 6, tzinfo=UTC)))[
        "current"
    ]


# --- a real click ------------------------------------------------------------------------------


def test_dub_link_clicked_is_normalized(client, dub_endpoint, link_clicked):
    post_webhook(client, dub_endpoint, js_json(link_clicked))

    click = Click.objects.get()
    assert click.external_id == click.click_key == "Qm3xT8vLpR2cW9aZ"
    assert click.occurred_at.isoformat() == "2025-02-03T09:35:57.926000+00:00"
    assert click.occurred_at_raw == "2025-02-03T09:35:57.926Z"
    assert click.url == LAUNCH_URL
    assert (click.country, click.region, click.city, click.continent) == (
        "US",
        "CA",
        "San Jose",
        "NA",
    )
    assert click.device == "desktop"
    assert (click.browser, click.os) == ("", "")  # Dub sent "Unknown"
    assert (click.referer, click.referer_url) == ("(direct)", "")
    assert (click.is_qr, click.is_bot, click.is_unique) == (False, False, True)
    assert click.ip == "52.234.41.0"  # truncated to its /24 once the visitor hash is taken
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == (
        "linkedin",
        "social",
        "launch-week",
    )
    assert click.campaign == Campaign.objects.get(sender="dub", external_id="launch-week")
    assert (click.campaign.name, click.campaign.utm_source, click.campaign.utm_medium) == (
        "launch-week",
        "linkedin",
        "social",
    )
    assert click.link == Link.objects.get(external_id="cm6r1t0dq0007pf3h2xk9vb4m")
    assert (click.link.short_link, click.link.domain, click.link.key) == (
        "https://dub.sh/acme-launch",
        "dub.sh",
        "acme-launch",
    )
    assert click.link.utm_campaign == "launch-week"


def test_dub_uses_the_links_utm_campaign_as_campaign(client, dub_endpoint, link_clicked):
    # The link's fields win over the UTM parameters of the URL (launch-week, linkedin, social).
    link_clicked["data"]["link"].update(utm_campaign="spring-sale", utm_source="newsletter")

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    click = Click.objects.get()
    assert click.campaign == Campaign.objects.get(sender="dub", external_id="spring-sale")
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == (
        "newsletter",
        "social",
        "spring-sale",
    )
    assert Campaign.objects.count() == 1


# --- the campaign from the URL's UTM parameters ------------------------------------------------


def test_dub_link_without_utm_fields_takes_its_campaign_from_the_clicked_url(
    client, dub_endpoint, link_clicked
):
    event = _without_link_utm(link_clicked)
    event["data"]["link"]["url"] = "https://acme.example/launch"

    post_webhook(client, dub_endpoint, js_json(event))

    click = Click.objects.get()
    assert click.campaign == Campaign.objects.get(sender="dub", external_id="launch-week")
    assert (click.campaign.name, click.campaign.utm_source, click.campaign.utm_medium) == (
        "launch-week",
        "linkedin",
        "social",
    )
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == (
        "linkedin",
        "social",
        "launch-week",
    )
    assert click.link.utm_campaign == ""  # the link's own fields stay as Dub sent them


def test_dub_without_utm_in_the_clicked_url_takes_them_from_the_links_destination(
    client, dub_endpoint, link_clicked
):
    event = _without_link_utm(link_clicked)
    event["data"]["click"]["url"] = "https://acme.example/launch"
    event["data"]["link"]["url"] = (
        "https://acme.example/launch?utm_source=x&utm_medium=post&utm_campaign=launch-week"
    )

    post_webhook(client, dub_endpoint, js_json(event))

    click = Click.objects.get()
    assert click.campaign == Campaign.objects.get(sender="dub", external_id="launch-week")
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == (
        "x",
        "post",
        "launch-week",
    )


def test_dub_utm_parameters_are_taken_one_by_one_link_then_click_url_then_destination(
    client, dub_endpoint, link_clicked
):
    event = _without_link_utm(link_clicked)
    event["data"]["link"]["utm_campaign"] = "spring-sale"
    event["data"]["click"]["url"] = "https://acme.example/launch?utm_source=linkedin"
    event["data"]["link"]["url"] = "https://acme.example/launch?utm_source=x&utm_medium=post"

    post_webhook(client, dub_endpoint, js_json(event))

    click = Click.objects.get()
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == (
        "linkedin",
        "post",
        "spring-sale",
    )
    assert (click.campaign.external_id, click.campaign.utm_source) == ("spring-sale", "linkedin")


def test_dub_click_without_utm_anywhere_has_no_campaign(client, dub_endpoint, link_clicked):
    event = _without_link_utm(link_clicked)
    event["data"]["click"]["url"] = event["data"]["link"]["url"] = "https://acme.example/launch"

    post_webhook(client, dub_endpoint, js_json(event))

    click = Click.objects.get()
    assert click.campaign is None
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == ("", "", "")
    assert not Campaign.objects.exists()


# --- "Unknown" ---------------------------------------------------------------------------------


@pytest.mark.parametrize("unknown", ["Unknown", "unknown", "UNKNOWN"])
def test_dub_unknown_region_city_browser_and_os_are_stored_as_unknown(
    client, dub_endpoint, link_clicked, unknown
):
    # Dub writes "Unknown" where its geo-IP or user-agent parser found nothing.
    fields = ("country", "region", "city", "continent", "device", "browser", "os", "referer")
    link_clicked["data"]["click"].update(dict.fromkeys(fields, unknown), refererUrl=unknown)

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    click = Click.objects.get()
    assert (click.country, click.region, click.city, click.continent) == ("", "", "", "")
    assert (click.device, click.browser, click.os) == ("", "", "")
    assert (click.referer, click.referer_url) == ("", "")


def test_dub_direct_is_kept_as_direct_not_unknown(client, dub_endpoint, link_clicked):
    link_clicked["data"]["click"].update(referer="(direct)", refererUrl="(direct)")

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    assert Click.objects.values_list("referer", "referer_url").get() == ("(direct)", "")


# --- Dub's "Send test event" -------------------------------------------------------------------


def test_dubs_send_test_event_is_kept_as_a_test_delivery_and_never_counted(
    client, dub_endpoint, sample_event
):
    body = js_json(sample_event)

    response = post_webhook(client, dub_endpoint, body)

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == accepted(delivery.pk)  # acceptance answers before parsing
    assert outcome(response) == summary(delivery.pk, "test", ignored=1)
    assert delivery.status == Delivery.Status.TEST
    assert delivery.get_status_display() == "Test event"
    assert (delivery.event_type, delivery.error) == ("link.clicked", "")
    assert delivery.click_lag is None  # a sample from 2025 says nothing about our lag
    assert delivery.processed_at is not None
    assert bytes(delivery.body) == body
    assert not Click.objects.exists()
    assert not PendingRollup.objects.exists()
    assert not Link.objects.exists()  # dub.sh/track-test is Dub's link, not the customer's
    assert not Campaign.objects.exists()
    assert _dub_clicks_in_february_2025()["clicks"] == 0


def test_a_real_click_after_the_test_event_is_counted_as_the_first(
    client, dub_endpoint, sample_event, link_clicked
):
    post_webhook(client, dub_endpoint, js_json(sample_event))

    response = post_webhook(client, dub_endpoint, js_json(link_clicked))

    assert outcome(response) == summary(response.json()["delivery"], "processed", created=1)
    assert Click.objects.get().is_unique is True
    assert _dub_clicks_in_february_2025()["clicks"] == 1  # the same days: the filter counts


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda e: e["data"]["link"].update(id="lnk_x", domain="acme.link", key="x"),
            id="by-click-id",
        ),
        pytest.param(
            lambda e: e["data"]["click"].update(id="anotherClickId01"), id="by-dub.sh/track-test"
        ),
        pytest.param(
            lambda e: (
                e["data"]["click"].update(id="anotherClickId01")
                or e["data"]["link"].update(domain="DUB.SH")
            ),
            id="by-link-domain-in-capitals",
        ),
    ],
)
def test_dubs_test_event_is_recognized_by_its_click_id_or_by_its_link(
    client, dub_endpoint, sample_event, change
):
    change(sample_event)

    response = post_webhook(client, dub_endpoint, js_json(sample_event))

    assert outcome(response) == summary(response.json()["delivery"], "test", ignored=1)
    assert not Click.objects.exists()


def test_dub_parser_marks_only_the_test_event(sample_event, link_clicked):
    (sample,) = dub.parse(js_json(sample_event), UTC_ZONE)
    (real,) = dub.parse(js_json(link_clicked), UTC_ZONE)

    assert (sample.test, sample.event_type, sample.click.external_id) == (
        True,
        "link.clicked",
        "yNrYm0F6r1KMnq6N",
    )
    assert real.test is False
    # Dub's sample with the track-test link is a lead, not a click: ignored as ever.
    assert [e.test for e in dub.parse(js_json(payload("dub/lead_created")), UTC_ZONE)] == [False]


def test_dubs_test_event_sent_again_and_reprocessed_stays_a_test(
    client, dub_endpoint, sample_event
):
    post_webhook(client, dub_endpoint, js_json(sample_event))
    response = post_webhook(client, dub_endpoint, js_json(sample_event))

    assert outcome(response) == summary(response.json()["delivery"], "test", ignored=1)
    out = StringIO()
    call_command("reprocess_deliveries", "--status", "test", stdout=out)

    assert out.getvalue() == "Reprocessed 2 deliveries (2 test); 0 clicks created.\n"
    assert list(
        Delivery.objects.order_by("pk").values_list("status", "clicks_created", "attempts")
    ) == [
        ("test", 0, 2),
        ("test", 0, 2),
    ]
    assert not Click.objects.exists()


def test_a_delivery_mixing_test_and_real_events_stores_the_real_ones(
    client, dub_endpoint, sample_event, link_clicked, monkeypatch
):
    # Dub sends one event per request; a sender of arrays (Woodpecker) could mix them.
    def parse_both(body: bytes, zone: object) -> list:
        return dub.parse(js_json(sample_event), zone) + dub.parse(body, zone)

    replace_parser(monkeypatch, "dub", parse_both)

    response = post_webhook(client, dub_endpoint, js_json(link_clicked))

    delivery = Delivery.objects.get()
    assert outcome(response) == summary(delivery.pk, "processed", created=1, ignored=1)
    click = Click.objects.get()
    assert (click.external_id, click.delivery) == ("Qm3xT8vLpR2cW9aZ", delivery)
    assert list(Link.objects.values_list("key", flat=True)) == ["acme-launch"]
    assert _dub_clicks_in_february_2025()["clicks"] == 1


def test_the_admin_lists_and_filters_test_deliveries(
    admin_client, client, dub_endpoint, sample_event, link_clicked
):
    post_webhook(client, dub_endpoint, js_json(sample_event))
    post_webhook(client, dub_endpoint, js_json(link_clicked))
    cache.clear()  # the admin caches filter choices between requests
    changelist = reverse("admin:analytics_delivery_changelist")

    everything = admin_client.get(changelist)
    tests = admin_client.get(changelist + "?status__exact=test")

    assert everything.status_code == tests.status_code == 200
    assert "?status__exact=test" in everything.content.decode()  # the filter offers it
    assert "Test event" in everything.content.decode()
    test_delivery = Delivery.objects.get(status=Delivery.Status.TEST)
    assert list(tests.context["cl"].result_list) == [test_delivery]
    page = admin_client.get(reverse("admin:analytics_delivery_change", args=[test_delivery.pk]))
    assert page.status_code == 200
    assert "Test event" in page.content.decode()


def test_dub_signature_covers_raw_bytes_with_non_ascii(client, dub_endpoint, link_clicked):
    link_clicked["data"]["click"]["city"] = "São Paulo"
    body = js_json(link_clicked)
    assert "São".encode() in body  # sent unescaped, as JSON.stringify does

    response = post_webhook(client, dub_endpoint, body)

    assert response.status_code == 200
    assert Click.objects.get().city == "São Paulo"


def test_dub_reports_bot_flag_as_sent(client, dub_endpoint, link_clicked):
    link_clicked["data"]["click"]["bot"] = True

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    assert Click.objects.get().is_bot is True


def test_dub_clicks_keep_dubs_verdict_whatever_the_user_agent(client, dub_endpoint, link_clicked):
    # Dub drops crawlers before sending; what it sends (app deep links included) it counts.
    link_clicked["data"]["click"]["ua"] = "Mozilla/5.0 (compatible; Googlebot/2.1)"

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    click = Click.objects.get()
    assert (click.is_bot, click.bot_reason) == (False, "")
