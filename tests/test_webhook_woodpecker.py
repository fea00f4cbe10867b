"""Woodpecker only: its click's normalization, offset times, free-text places, and arrays of
events. What every sender does (storage, redelivery, the URL token, bad bodies, reprocessing) is
in tests/test_senders.py."""

import copy
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.models import Campaign, Click, Contact, Delivery
from tests.conftest import (
    assert_failed_in_processing,
    js_json,
    outcome,
    payload,
    post_webhook,
    summary,
)


@pytest.fixture
def link_clicked() -> list:
    return payload("woodpecker/link_clicked")


@pytest.fixture
def item(link_clicked) -> dict:
    """The one link_clicked event of the documented example array."""
    return link_clicked[0]


def _variant(item: dict, **fields: object) -> dict:
    item = copy.deepcopy(item)
    item.update(fields)
    return item


def _replied() -> dict:
    """prospect_replied: the same envelope with the prospect, no click_url."""
    return payload("woodpecker/prospect_replied")[0]


# --- the documented example --------------------------------------------------------------------


def test_woodpecker_link_clicked_is_normalized(client, woodpecker_endpoint, link_clicked):
    post_webhook(client, woodpecker_endpoint, js_json(link_clicked))

    click = Click.objects.get()
    assert click.external_id == ""  # Woodpecker gives no click id
    assert len(click.click_key) == 32
    # +0100 is converted: 20:47:47 in UTC+1 is 19:47:47 UTC.
    assert click.occurred_at.isoformat() == "2025-03-21T19:47:47+00:00"
    assert click.occurred_at_raw == "2025-03-21T20:47:47+0100"
    assert click.url == "https://google.com"
    # The prospect's free-text location: "United States" is ISO US, in North America.
    assert (click.country, click.continent, click.region, click.city) == (
        "US",
        "NA",
        "California",
        "Palo Alto",
    )
    assert (click.latitude, click.longitude) == (None, None)
    assert (click.device, click.browser, click.os) == ("", "", "")
    assert (click.referer, click.referer_url) == ("", "")
    assert (click.is_qr, click.is_bot, click.is_unique) == (False, False, True)
    assert click.ip is None
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == ("", "", "")
    assert click.link is None

    assert click.campaign == Campaign.objects.get(sender="woodpecker", external_id="123456")
    assert click.campaign.name == "SaaS in America"

    assert click.recipient == Contact.objects.get(
        sender="woodpecker", email="erlich@bachmanity.com"
    )
    assert click.recipient.external_id == "1234567890"
    assert click.recipient.name == "Erlich Bachman"
    assert click.recipient.company == "Bachmanity"
    assert click.sharer is None


def test_woodpecker_reads_utm_parameters_from_the_clicked_url(client, woodpecker_endpoint, item):
    url = "https://piedpiper.com/?utm_source=woodpecker&utm_medium=email&utm_campaign=saas"

    post_webhook(client, woodpecker_endpoint, js_json([_variant(item, click_url=url)]))

    click = Click.objects.get()
    assert click.url == url
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == (
        "woodpecker",
        "email",
        "saas",
    )


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        ("2025-03-21T20:47:47+0100", "2025-03-21T19:47:47+00:00"),
        ("2025-07-01T09:00:00-0500", "2025-07-01T14:00:00+00:00"),
        ("2025-07-01T09:00:00+02:00", "2025-07-01T07:00:00+00:00"),
        ("2025-07-01T09:00:00Z", "2025-07-01T09:00:00+00:00"),
    ],
)
def test_woodpecker_converts_offset_timestamps_to_utc(client, woodpecker_endpoint, item, raw, utc):
    post_webhook(client, woodpecker_endpoint, js_json([_variant(item, timestamp=raw)]))

    click = Click.objects.get()
    assert click.occurred_at.isoformat() == utc
    assert click.occurred_at_raw == raw


@pytest.mark.parametrize(
    ("country", "code", "continent"),
    [
        ("United States", "US", "NA"),
        ("USA", "US", "NA"),
        ("Germany", "DE", "EU"),
        ("united kingdom", "GB", "EU"),
        ("Brazil", "BR", "SA"),
        ("", "", ""),
        ("Atlantis", "", ""),
    ],
)
def test_woodpecker_normalizes_free_text_countries(
    client, woodpecker_endpoint, item, country, code, continent
):
    item["prospect"]["country"] = country

    post_webhook(client, woodpecker_endpoint, js_json([item]))

    click = Click.objects.get()
    assert (click.country, click.continent) == (code, continent)


@pytest.mark.parametrize("unknown", ["Unknown", "N/A", "-"])
def test_woodpecker_unknown_places_are_stored_as_unknown(
    client, woodpecker_endpoint, item, unknown
):
    item["prospect"].update(country=unknown, state=unknown, city=unknown)

    post_webhook(client, woodpecker_endpoint, js_json([item]))

    click = Click.objects.get()
    assert (click.country, click.continent, click.region, click.city) == ("", "", "", "")


def test_woodpecker_accepts_a_lone_event_object(client, woodpecker_endpoint, item):
    response = post_webhook(client, woodpecker_endpoint, js_json(item))

    assert response.status_code == 200
    assert outcome(response)["clicks_created"] == 1
    assert Click.objects.get().recipient.email == "erlich@bachmanity.com"


# --- redelivery --------------------------------------------------------------------------------


def test_woodpecker_same_prospect_and_link_at_another_time_is_another_click(
    client, woodpecker_endpoint, item
):
    post_webhook(client, woodpecker_endpoint, js_json([item]))

    response = post_webhook(
        client,
        woodpecker_endpoint,
        js_json([_variant(item, timestamp="2025-03-21T21:05:00+0100")]),
    )

    assert outcome(response)["clicks_created"] == 1
    assert Click.objects.count() == 2


# --- several events in one delivery ------------------------------------------------------------


def test_woodpecker_array_with_mixed_methods_stores_only_the_clicks(
    client, woodpecker_endpoint, item
):
    second_link = _variant(item, click_url="https://piedpiper.com/pricing")
    body = js_json([item, _replied(), second_link])

    response = post_webhook(client, woodpecker_endpoint, body)

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert outcome(response) == summary(delivery.pk, "processed", created=2, ignored=1)
    assert (delivery.clicks_created, delivery.ignored) == (2, 1)
    assert delivery.event_type == "link_clicked,prospect_replied"
    assert set(Click.objects.values_list("url", flat=True)) == {
        "https://google.com",
        "https://piedpiper.com/pricing",
    }
    assert Contact.objects.count() == 1
    assert Campaign.objects.count() == 1


def test_woodpecker_array_repeating_a_click_counts_the_copy_as_duplicate(
    client, woodpecker_endpoint, item
):
    response = post_webhook(client, woodpecker_endpoint, js_json([item, item]))

    assert outcome(response)["clicks_created"] == 1
    assert outcome(response)["duplicates"] == 1
    assert outcome(response)["status"] == "processed"
    assert Click.objects.count() == 1


# --- events that are not clicks ----------------------------------------------------------------


def test_woodpecker_empty_array_is_ignored(client, woodpecker_endpoint):
    response = post_webhook(client, woodpecker_endpoint, b"[]")

    assert response.status_code == 200
    assert outcome(response)["status"] == "ignored"
    assert Delivery.objects.get().status == Delivery.Status.IGNORED
    assert not Click.objects.exists()


# --- bodies that do not fit --------------------------------------------------------------------


def test_woodpecker_array_with_a_stray_item_fails_whole_and_is_processed_once_repaired(
    client, woodpecker_endpoint, item
):
    body = js_json([item, _replied(), "link_clicked"])

    response = post_webhook(client, woodpecker_endpoint, body)

    error = assert_failed_in_processing(response, body)
    assert error.startswith("[2] must be an object")
    # The delivery is all or nothing: the valid first item is not stored either.
    assert not Click.objects.exists()
    delivery = Delivery.objects.get()

    # An admin removes the stray item from the stored body.
    Delivery.objects.filter(pk=delivery.pk).update(body=js_json([item, _replied()]))
    call_command("reprocess_deliveries", stdout=StringIO(), stderr=StringIO())

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED
    assert (delivery.clicks_created, delivery.ignored) == (1, 1)
    assert delivery.event_type == "link_clicked,prospect_replied"
    assert Click.objects.get().delivery == delivery


# --- unique visitors ---------------------------------------------------------------------------


def test_woodpecker_two_clicks_by_one_prospect_in_one_delivery_count_once(
    client, woodpecker_endpoint, item
):
    second = _variant(item, click_url="https://piedpiper.com/pricing")

    post_webhook(client, woodpecker_endpoint, js_json([item, second]))

    assert Click.objects.filter(is_unique=True).count() == 1
    assert Click.objects.filter(is_unique=False).count() == 1
