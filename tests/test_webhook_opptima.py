"""Opptima only: its click's normalization, naive times read in the endpoint's zone, and its
bearer scheme. What every sender does (storage, redelivery, authentication, bad bodies,
reprocessing) is in tests/test_senders.py."""

from io import StringIO

import pytest
from django.core.management import call_command

from analytics.models import Campaign, Click, Contact, Delivery, Sender, WebhookEndpoint
from tests.conftest import js_json, payload, post_webhook


@pytest.fixture
def click_event() -> dict:
    return payload("opptima/click")


@pytest.fixture
def madrid_endpoint(db) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        sender=Sender.OPPTIMA, name="Spain", secret="opp_madrid_key", time_zone="Europe/Madrid"
    )


# --- the documented example --------------------------------------------------------------------


def test_opptima_click_is_normalized(client, opptima_endpoint, click_event):
    post_webhook(client, opptima_endpoint, js_json(click_event))

    click = Click.objects.get()
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


@pytest.mark.parametrize("unknown", ["Unknown", "unknown", "N/A", "-"])
def test_opptima_unknown_places_and_browser_are_stored_as_unknown(
    client, opptima_endpoint, click_event, unknown
):
    click_event.update(
        countryName=unknown,
        regionName=unknown,
        cityName=unknown,
        device_type=unknown,
        browser=unknown,
    )

    post_webhook(client, opptima_endpoint, js_json(click_event))

    click = Click.objects.get()
    assert (click.country, click.continent, click.region, click.city) == ("", "", "", "")
    assert (click.device, click.browser) == ("", "")


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


def test_opptima_rejects_the_api_key_without_the_bearer_scheme(
    client, opptima_endpoint, click_event
):
    response = post_webhook(
        client, opptima_endpoint, js_json(click_event), Authorization=opptima_endpoint.secret
    )

    assert response.status_code == 401
    assert response.json() == {"error": "Missing Authorization: Bearer <API key> header."}
    assert not Delivery.objects.exists()
