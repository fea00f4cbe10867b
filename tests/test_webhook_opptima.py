from io import StringIO

import pytest
from django.core.management import call_command

from analytics.models import Campaign, Click, Contact, Delivery, Sender, WebhookEndpoint
from tests.conftest import (
    accepted,
    assert_failed_in_processing,
    assert_kept_as_failed,
    js_json,
    outcome,
    payload,
    post_webhook,
    summary,
)


@pytest.fixture
def click_event() -> dict:
    return payload("opptima/click")


@pytest.fixture
def madrid_endpoint(db) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        sender=Sender.OPPTIMA, name="Spain", secret="opp_madrid_key", time_zone="Europe/Madrid"
    )


def _sent_event() -> dict:
    return {
        "type": "Email marketing",
        "event": "sent",
        "campid": "12345",
        "relid": "123",
        "timestamp": "2020-10-02 15:00:00",
        "email": "test@testdomain.com",
        "campaignName": "Test campaign name",
        "subject": "Test campaign subject",
        "contactId": "112528991",
    }


# --- the documented example --------------------------------------------------------------------


def test_opptima_click_is_stored_as_one_normalized_click(client, opptima_endpoint, click_event):
    body = js_json(click_event)

    response = post_webhook(client, opptima_endpoint, body)

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == accepted(delivery.pk)
    assert outcome(response) == summary(delivery.pk, "processed", created=1)
    click = Click.objects.get()
    assert click.sender == "opptima"
    assert click.endpoint == opptima_endpoint
    assert click.external_id == ""  # Opptima gives no click id
    assert len(click.click_key) == 32
    # Naive time read in the endpoint's default zone, America/Bogota (UTC-5, no DST).
    assert opptima_endpoint.time_zone == "America/Bogota"
    assert click.occurred_at.isoformat() == "2020-10-02T20:07:31+00:00"
    assert click.occurred_at_raw == "2020-10-02 15:07:31"
    assert click.url == "https://www.testdomain.com/"
    assert (click.country, click.continent, click.region, click.city) == (
        "CO",
        "SA",
        "Distrito Capital de Bogota",
        "Bogota",
    )
    assert (click.latitude, click.longitude) == (4.60971, -74.081749)
    assert (click.device, click.browser, click.os) == ("mobile", "Chrome", "")
    assert (click.referer, click.referer_url) == ("", "")
    assert (click.is_qr, click.is_bot, click.is_unique) == (False, False, True)
    assert click.ip is None
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == ("", "", "")
    assert click.link is None

    assert click.campaign == Campaign.objects.get(sender="opptima", external_id="12345")
    assert click.campaign.name == "Test campaign name"

    assert click.recipient == Contact.objects.get(sender="opptima", email="test@testdomain.com")
    assert click.recipient.external_id == "112528991"
    assert click.sharer is None

    assert click.delivery == delivery
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.event_type == "emailMarketingClick"
    assert bytes(delivery.body) == body


def test_opptima_reads_utm_parameters_from_the_destination(client, opptima_endpoint, click_event):
    click_event["destination"] = (
        "https://www.testdomain.com/?utm_source=opptima&utm_medium=email&utm_campaign=october"
    )

    post_webhook(client, opptima_endpoint, js_json(click_event))

    click = Click.objects.get()
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == (
        "opptima",
        "email",
        "october",
    )


@pytest.mark.parametrize(
    ("country_name", "code", "continent"),
    [
        ("Colombia", "CO", "SA"),
        ("México", "MX", "NA"),
        ("Estados Unidos", "US", "NA"),
        ("España", "ES", "EU"),
        ("", "", ""),
    ],
)
def test_opptima_normalizes_country_names(
    client, opptima_endpoint, click_event, country_name, code, continent
):
    click_event["countryName"] = country_name

    post_webhook(client, opptima_endpoint, js_json(click_event))

    click = Click.objects.get()
    assert (click.country, click.continent) == (code, continent)


# --- time zones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        # Spain leaves CET (UTC+1) for CEST (UTC+2) on 31 March 2024 at 02:00 local time...
        ("2024-03-30 15:07:31", "2024-03-30T14:07:31+00:00"),
        ("2024-03-31 01:30:00", "2024-03-31T00:30:00+00:00"),
        ("2024-03-31 03:30:00", "2024-03-31T01:30:00+00:00"),
        ("2024-03-31 15:07:31", "2024-03-31T13:07:31+00:00"),
        # ...and returns to CET on 27 October 2024.
        ("2024-10-26 15:07:31", "2024-10-26T13:07:31+00:00"),
        ("2024-10-27 15:07:31", "2024-10-27T14:07:31+00:00"),
    ],
)
def test_opptima_reads_naive_times_in_the_endpoints_zone_across_dst(
    client, madrid_endpoint, click_event, raw, utc
):
    click_event["timestamp"] = raw

    response = post_webhook(client, madrid_endpoint, js_json(click_event))

    assert response.status_code == 200
    click = Click.objects.get()
    assert click.endpoint == madrid_endpoint
    assert click.occurred_at.isoformat() == utc
    assert click.occurred_at_raw == raw


def test_opptima_same_local_time_in_two_zones_is_two_instants(
    client, opptima_endpoint, madrid_endpoint, click_event
):
    post_webhook(client, opptima_endpoint, js_json(click_event))
    # Another Opptima account (relid) posting the same local time to the Madrid endpoint.
    post_webhook(client, madrid_endpoint, js_json({**click_event, "relid": "456"}))

    by_endpoint = {c.endpoint_id: c.occurred_at.isoformat() for c in Click.objects.all()}
    assert by_endpoint == {
        opptima_endpoint.pk: "2020-10-02T20:07:31+00:00",  # Bogota, UTC-5
        madrid_endpoint.pk: "2020-10-02T13:07:31+00:00",  # Madrid in summer time, UTC+2
    }


def test_opptima_endpoint_created_for_utc_reads_naive_times_as_utc(client, db, click_event):
    # create_webhook documents --timezone as the zone of the naive timestamps.
    call_command(
        "create_webhook", "opptima", "--name", "Global", "--timezone", "UTC", stdout=StringIO()
    )
    endpoint = WebhookEndpoint.objects.get(name="Global")
    assert endpoint.time_zone == "UTC"

    response = post_webhook(client, endpoint, js_json(click_event))

    assert response.status_code == 200
    assert Click.objects.get().occurred_at.isoformat() == "2020-10-02T15:07:31+00:00"


def test_opptima_timestamp_with_an_offset_ignores_the_endpoint_zone(
    client, madrid_endpoint, click_event
):
    click_event["timestamp"] = "2020-10-02T15:07:31-05:00"

    post_webhook(client, madrid_endpoint, js_json(click_event))

    assert Click.objects.get().occurred_at.isoformat() == "2020-10-02T20:07:31+00:00"


# --- authentication ----------------------------------------------------------------------------


def test_opptima_rejects_wrong_token(client, opptima_endpoint, click_event):
    response = client.post(
        "/webhooks/opptima/not-the-token/",
        js_json(click_event),
        content_type="application/json",
        headers={"Authorization": f"Bearer {opptima_endpoint.secret}"},
    )

    assert response.status_code == 404
    assert "error" in response.json()
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_opptima_rejects_wrong_bearer_token(client, opptima_endpoint, click_event):
    response = post_webhook(
        client, opptima_endpoint, js_json(click_event), Authorization="Bearer opp_live_wrong"
    )

    assert response.status_code == 401
    assert response.json()["error"] == "The bearer token does not match this endpoint's API key."
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_opptima_rejects_missing_authorization(client, opptima_endpoint, click_event):
    response = client.post(
        opptima_endpoint.get_absolute_url(), js_json(click_event), content_type="application/json"
    )

    assert response.status_code == 401
    assert response.json()["error"] == "Missing Authorization: Bearer <API key> header."
    assert not Delivery.objects.exists()


def test_opptima_rejects_the_api_key_without_the_bearer_scheme(
    client, opptima_endpoint, click_event
):
    response = post_webhook(
        client, opptima_endpoint, js_json(click_event), Authorization=opptima_endpoint.secret
    )

    assert response.status_code == 401
    assert not Delivery.objects.exists()


def test_opptima_rejects_another_endpoints_api_key(
    client, opptima_endpoint, madrid_endpoint, click_event
):
    response = post_webhook(
        client,
        opptima_endpoint,
        js_json(click_event),
        Authorization=f"Bearer {madrid_endpoint.secret}",
    )

    assert response.status_code == 401
    assert not Delivery.objects.exists()


def test_opptima_does_not_store_the_api_key(client, opptima_endpoint, click_event):
    post_webhook(client, opptima_endpoint, js_json(click_event))

    headers = Delivery.objects.get().headers
    assert headers["Authorization"] == "Bearer [masked]"
    assert opptima_endpoint.secret not in str(headers)


# --- redelivery --------------------------------------------------------------------------------


def test_opptima_redelivery_creates_no_second_click(client, opptima_endpoint, click_event):
    post_webhook(client, opptima_endpoint, js_json(click_event))
    response = post_webhook(client, opptima_endpoint, js_json(click_event))

    assert response.status_code == 200
    assert outcome(response) == summary(Delivery.objects.latest("pk").pk, "duplicate", duplicates=1)
    assert Click.objects.count() == 1
    assert Delivery.objects.count() == 2


# --- events that are not clicks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "event_type"), [("sent", "emailMarketingSent"), ("open", "emailMarketingOpen")]
)
def test_opptima_non_click_events_are_kept_and_ignored(client, opptima_endpoint, event, event_type):
    body = {**_sent_event(), "event": event}

    response = post_webhook(client, opptima_endpoint, js_json(body))

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert outcome(response) == summary(delivery.pk, "ignored", ignored=1)
    assert delivery.status == Delivery.Status.IGNORED
    assert delivery.event_type == event_type
    assert not Click.objects.exists()
    assert not Contact.objects.exists()


# --- bodies that do not fit --------------------------------------------------------------------


def test_opptima_rejects_malformed_json_and_keeps_the_delivery(client, opptima_endpoint):
    body = b'{"type": "Email marketing", "event": "click",'

    response = post_webhook(client, opptima_endpoint, body)

    error = assert_kept_as_failed(response, body)
    assert error.startswith("The body is not valid JSON")
    assert not Click.objects.exists()


def _without_campid(event: dict) -> str:
    del event["campid"]
    return "campid must be a string, got nothing."


def _timestamp_not_a_date(event: dict) -> str:
    event["timestamp"] = "02/10/2020 15:07:31"
    return "timestamp is not an ISO 8601 timestamp: '02/10/2020 15:07:31'."


def _timestamp_a_number(event: dict) -> str:
    event["timestamp"] = 1601669251
    return "timestamp must be an ISO 8601 timestamp string, got a number."


def _without_event(event: dict) -> str:
    del event["event"]
    return "event must be a string, got nothing."


@pytest.mark.parametrize(
    "break_event", [_without_campid, _timestamp_not_a_date, _timestamp_a_number, _without_event]
)
def test_opptima_rejects_a_click_of_the_wrong_shape_naming_the_field(
    client, opptima_endpoint, click_event, break_event
):
    expected_error = break_event(click_event)
    body = js_json(click_event)

    response = post_webhook(client, opptima_endpoint, body)

    assert assert_failed_in_processing(response, body) == expected_error
    assert not Click.objects.exists()


def test_opptima_rejects_a_json_array_body(client, opptima_endpoint, click_event):
    body = js_json([click_event])

    response = post_webhook(client, opptima_endpoint, body)

    assert "JSON object" in assert_kept_as_failed(response, body)
    assert not Click.objects.exists()


# --- reprocessing ------------------------------------------------------------------------------


def test_opptima_failed_delivery_is_reprocessed_after_its_body_is_repaired(
    client, opptima_endpoint, click_event
):
    broken = {**click_event, "timestamp": "02/10/2020 15:07:31"}
    response = post_webhook(client, opptima_endpoint, js_json(broken))
    assert_failed_in_processing(response, js_json(broken))
    delivery = Delivery.objects.get()

    # An admin rewrites the date in ISO form.
    Delivery.objects.filter(pk=delivery.pk).update(body=js_json(click_event))
    out = StringIO()
    call_command("reprocess_deliveries", stdout=out, stderr=StringIO())

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.error == ""
    assert delivery.clicks_created == 1
    click = Click.objects.get()
    assert click.delivery == delivery
    # Reprocessing still reads the naive time in the endpoint's zone.
    assert click.occurred_at.isoformat() == "2020-10-02T20:07:31+00:00"
    assert "1 processed" in out.getvalue()

    out = StringIO()
    call_command("reprocess_deliveries", stdout=out, stderr=StringIO())
    call_command("reprocess_deliveries", "--status", "processed", stdout=StringIO())

    assert "none matched" in out.getvalue()
    assert Click.objects.count() == 1


def test_opptima_failed_delivery_is_reprocessed_after_a_parser_fix(
    client, opptima_endpoint, click_event, monkeypatch
):
    from analytics.senders import PayloadError
    from tests.conftest import replace_parser

    def broken_parse(body, zone):
        raise PayloadError("timestamp is not an ISO 8601 timestamp: '2020-10-02 15:07:31'.")

    replace_parser(monkeypatch, "opptima", broken_parse)
    response = post_webhook(client, opptima_endpoint, js_json(click_event))
    error = assert_failed_in_processing(response, js_json(click_event))
    assert error == "timestamp is not an ISO 8601 timestamp: '2020-10-02 15:07:31'."
    delivery = Delivery.objects.get()

    monkeypatch.undo()  # the fix is deployed
    call_command("reprocess_deliveries", stdout=StringIO(), stderr=StringIO())

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.event_type == "emailMarketingClick"
    assert Click.objects.get().recipient.email == "test@testdomain.com"

    call_command("reprocess_deliveries", stdout=StringIO(), stderr=StringIO())

    assert Click.objects.count() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED


# --- unique visitors ---------------------------------------------------------------------------


def test_opptima_second_click_by_same_email_in_same_campaign_is_not_unique(
    client, opptima_endpoint, click_event
):
    post_webhook(client, opptima_endpoint, js_json(click_event))
    again = {**click_event, "timestamp": "2020-10-02 15:20:00", "email": "TEST@testdomain.com"}

    response = post_webhook(client, opptima_endpoint, js_json(again))

    assert outcome(response)["clicks_created"] == 1
    assert Click.objects.get(occurred_at_raw="2020-10-02 15:07:31").is_unique is True
    assert Click.objects.get(occurred_at_raw="2020-10-02 15:20:00").is_unique is False


def test_opptima_same_email_in_another_campaign_is_unique_again(
    client, opptima_endpoint, click_event
):
    post_webhook(client, opptima_endpoint, js_json(click_event))
    other = {**click_event, "campid": "67890", "campaignName": "November newsletter"}

    post_webhook(client, opptima_endpoint, js_json(other))

    click = Click.objects.get(campaign__external_id="67890")
    assert click.campaign.name == "November newsletter"
    assert click.is_unique is True
    assert Click.objects.count() == 2


def test_opptima_another_recipient_in_the_same_campaign_is_unique(
    client, opptima_endpoint, click_event
):
    post_webhook(client, opptima_endpoint, js_json(click_event))
    other = {**click_event, "email": "ana@testdomain.com", "contactId": "112528992"}

    post_webhook(client, opptima_endpoint, js_json(other))

    assert Click.objects.filter(is_unique=True).count() == 2
