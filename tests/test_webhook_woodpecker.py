import copy
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.models import Campaign, Click, Contact, Delivery
from tests.conftest import (
    accepted,
    assert_failed_in_processing,
    assert_kept_as_failed,
    js_json,
    outcome,
    payload,
    post_webhook,
    process_queue,
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


def _replied(item: dict) -> dict:
    """prospect_replied: the same envelope with the prospect, no click_url."""
    replied = _variant(item, method="prospect_replied", timestamp="2025-03-22T09:15:00+0100")
    del replied["click_url"]
    return replied


# --- the documented example --------------------------------------------------------------------


def test_woodpecker_link_clicked_is_stored_as_one_normalized_click(
    client, woodpecker_endpoint, link_clicked
):
    body = js_json(link_clicked)

    response = post_webhook(client, woodpecker_endpoint, body)

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == accepted(delivery.pk)
    assert outcome(response) == summary(delivery.pk, "processed", created=1)
    click = Click.objects.get()
    assert click.sender == "woodpecker"
    assert click.endpoint == woodpecker_endpoint
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

    assert click.delivery == delivery
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.event_type == "link_clicked"
    assert bytes(delivery.body) == body


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


def test_woodpecker_accepts_a_lone_event_object(client, woodpecker_endpoint, item):
    response = post_webhook(client, woodpecker_endpoint, js_json(item))

    assert response.status_code == 200
    assert outcome(response)["clicks_created"] == 1
    assert Click.objects.get().recipient.email == "erlich@bachmanity.com"


# --- authentication: the token is all there is ------------------------------------------------


def test_woodpecker_accepts_unsigned_deliveries_with_the_right_token(
    client, woodpecker_endpoint, link_clicked
):
    response = client.post(
        f"/webhooks/woodpecker/{woodpecker_endpoint.token}/",
        js_json(link_clicked),
        content_type="application/json",
    )
    process_queue()

    assert response.status_code == 200
    assert Click.objects.count() == 1


def test_woodpecker_rejects_wrong_token(client, woodpecker_endpoint, link_clicked):
    response = client.post(
        "/webhooks/woodpecker/not-the-token/",
        js_json(link_clicked),
        content_type="application/json",
    )

    assert response.status_code == 404
    assert "error" in response.json()
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_woodpecker_rejects_another_senders_token(client, opptima_endpoint, link_clicked):
    response = client.post(
        f"/webhooks/woodpecker/{opptima_endpoint.token}/",
        js_json(link_clicked),
        content_type="application/json",
    )

    assert response.status_code == 404
    assert not Delivery.objects.exists()


def test_woodpecker_rejects_a_disabled_endpoint(client, woodpecker_endpoint, link_clicked):
    woodpecker_endpoint.is_active = False
    woodpecker_endpoint.save()

    response = post_webhook(client, woodpecker_endpoint, js_json(link_clicked))

    # 404, never 410: Woodpecker unsubscribes on 410.
    assert response.status_code == 404
    assert not Delivery.objects.exists()


# --- redelivery --------------------------------------------------------------------------------


def test_woodpecker_redelivery_creates_no_second_click(client, woodpecker_endpoint, link_clicked):
    post_webhook(client, woodpecker_endpoint, js_json(link_clicked))
    response = post_webhook(client, woodpecker_endpoint, js_json(link_clicked))

    assert response.status_code == 200
    assert outcome(response) == summary(Delivery.objects.latest("pk").pk, "duplicate", duplicates=1)
    assert Click.objects.count() == 1
    assert Delivery.objects.count() == 2


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
    body = js_json([item, _replied(item), second_link])

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


def test_woodpecker_prospect_replied_is_kept_and_ignored(client, woodpecker_endpoint, item):
    response = post_webhook(client, woodpecker_endpoint, js_json([_replied(item)]))

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert outcome(response) == summary(delivery.pk, "ignored", ignored=1)
    assert delivery.status == Delivery.Status.IGNORED
    assert delivery.event_type == "prospect_replied"
    assert not Click.objects.exists()


def test_woodpecker_empty_array_is_ignored(client, woodpecker_endpoint):
    response = post_webhook(client, woodpecker_endpoint, b"[]")

    assert response.status_code == 200
    assert outcome(response)["status"] == "ignored"
    assert Delivery.objects.get().status == Delivery.Status.IGNORED
    assert not Click.objects.exists()


# --- bodies that do not fit --------------------------------------------------------------------


def test_woodpecker_rejects_malformed_json_and_keeps_the_delivery(client, woodpecker_endpoint):
    body = b'[{"method": "link_clicked", '

    response = post_webhook(client, woodpecker_endpoint, body)

    error = assert_kept_as_failed(response, body)
    assert error.startswith("The body is not valid JSON")
    assert not Click.objects.exists()


def test_woodpecker_rejects_an_item_that_is_not_an_object(client, woodpecker_endpoint, item):
    body = js_json([item, "link_clicked"])

    response = post_webhook(client, woodpecker_endpoint, body)

    error = assert_failed_in_processing(response, body)
    assert error.startswith("[1] must be an object")
    # The delivery is all or nothing: the valid first item is not stored either.
    assert not Click.objects.exists()


def _without_method(item: dict) -> str:
    del item["method"]
    return "[0].method must be a string, got nothing."


def _timestamp_not_a_date(item: dict) -> str:
    item["timestamp"] = "21/03/2025 20:47"
    return "[0].timestamp is not an ISO 8601 timestamp: '21/03/2025 20:47'."


def _without_timestamp(item: dict) -> str:
    del item["timestamp"]
    return "[0].timestamp must be an ISO 8601 timestamp string, got nothing."


def _without_prospect(item: dict) -> str:
    del item["prospect"]
    return "[0].prospect must be an object, got nothing."


def _prospect_without_id_or_email(item: dict) -> str:
    item["prospect"].update(id=None, email="")
    return "[0].prospect must have an id or an email."


@pytest.mark.parametrize(
    "break_item",
    [
        _without_method,
        _timestamp_not_a_date,
        _without_timestamp,
        _without_prospect,
        _prospect_without_id_or_email,
    ],
)
def test_woodpecker_rejects_an_event_of_the_wrong_shape_naming_the_field(
    client, woodpecker_endpoint, item, break_item
):
    expected_error = break_item(item)
    body = js_json([item])

    response = post_webhook(client, woodpecker_endpoint, body)

    assert assert_failed_in_processing(response, body) == expected_error
    assert not Click.objects.exists()


def test_woodpecker_rejects_a_body_that_is_neither_array_nor_object(client, woodpecker_endpoint):
    response = post_webhook(client, woodpecker_endpoint, b'"link_clicked"')

    error = assert_kept_as_failed(response, b'"link_clicked"')
    assert error == "The body must be a JSON array of Woodpecker events."


# --- reprocessing ------------------------------------------------------------------------------


def test_woodpecker_failed_delivery_is_reprocessed_after_its_body_is_repaired(
    client, woodpecker_endpoint, item
):
    body = js_json([item, _replied(item), "link_clicked"])
    response = post_webhook(client, woodpecker_endpoint, body)
    assert assert_failed_in_processing(response, body).startswith("[2] must be an object")
    delivery = Delivery.objects.get()

    # An admin removes the stray item from the stored body.
    Delivery.objects.filter(pk=delivery.pk).update(body=js_json([item, _replied(item)]))
    out = StringIO()
    call_command("reprocess_deliveries", stdout=out, stderr=StringIO())

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.error == ""
    assert (delivery.clicks_created, delivery.ignored) == (1, 1)
    click = Click.objects.get()
    assert click.delivery == delivery
    assert click.recipient.email == "erlich@bachmanity.com"
    assert "1 clicks created" in out.getvalue()

    call_command("reprocess_deliveries", stdout=StringIO(), stderr=StringIO())
    call_command("reprocess_deliveries", "--id", str(delivery.pk), stdout=StringIO())

    assert Click.objects.count() == 1
    assert Contact.objects.count() == 1
    assert Campaign.objects.count() == 1


def test_woodpecker_failed_delivery_is_reprocessed_after_a_parser_fix(
    client, woodpecker_endpoint, link_clicked, monkeypatch
):
    from analytics.senders import PayloadError
    from tests.conftest import replace_parser

    def broken_parse(body, zone):
        raise PayloadError("[0].timestamp is not an ISO 8601 timestamp.")

    replace_parser(monkeypatch, "woodpecker", broken_parse)
    response = post_webhook(client, woodpecker_endpoint, js_json(link_clicked))
    error = assert_failed_in_processing(response, js_json(link_clicked))
    assert error == "[0].timestamp is not an ISO 8601 timestamp."

    monkeypatch.undo()  # the fix is deployed
    call_command("reprocess_deliveries", stdout=StringIO(), stderr=StringIO())

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PROCESSED
    assert Click.objects.get().occurred_at.isoformat() == "2025-03-21T19:47:47+00:00"

    call_command("reprocess_deliveries", stdout=StringIO(), stderr=StringIO())

    assert Click.objects.count() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED


# --- unique visitors ---------------------------------------------------------------------------


def test_woodpecker_second_click_by_same_email_in_same_campaign_is_not_unique(
    client, woodpecker_endpoint, item
):
    post_webhook(client, woodpecker_endpoint, js_json([item]))
    again = _variant(item, click_url="https://piedpiper.com/pricing")
    again["prospect"]["email"] = "Erlich@Bachmanity.com"  # e-mail compared case-insensitively

    response = post_webhook(client, woodpecker_endpoint, js_json([again]))

    assert outcome(response)["clicks_created"] == 1
    assert Click.objects.get(url="https://google.com").is_unique is True
    assert Click.objects.get(url="https://piedpiper.com/pricing").is_unique is False


def test_woodpecker_same_email_in_another_campaign_is_unique_again(
    client, woodpecker_endpoint, item
):
    post_webhook(client, woodpecker_endpoint, js_json([item]))
    other = copy.deepcopy(item)
    other["prospect"].update(campaign_id=654321, campaign_name="SaaS in Europe")

    post_webhook(client, woodpecker_endpoint, js_json([other]))

    click = Click.objects.get(campaign__external_id="654321")
    assert click.campaign.name == "SaaS in Europe"
    assert click.is_unique is True
    assert Click.objects.count() == 2


def test_woodpecker_two_clicks_by_one_prospect_in_one_delivery_count_once(
    client, woodpecker_endpoint, item
):
    second = _variant(item, click_url="https://piedpiper.com/pricing")

    post_webhook(client, woodpecker_endpoint, js_json([item, second]))

    assert Click.objects.filter(is_unique=True).count() == 1
    assert Click.objects.filter(is_unique=False).count() == 1
