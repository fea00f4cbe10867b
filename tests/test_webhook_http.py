"""The HTTP contract of ``POST /webhooks/<sender>/<token>/`` that every sender relies on."""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection

from analytics import acceptance, intake, spool
from analytics.models import Click, Delivery, Link, WebhookEndpoint
from analytics.senders.spec import sign
from tests.conftest import (
    DUB_SECRET,
    accepted,
    assert_failed_in_processing,
    assert_kept_as_failed,
    js_json,
    outcome,
    payload,
    post_webhook,
    process_queue,
)


@pytest.fixture
def dub_click_body() -> bytes:
    return js_json(payload("dub/link_clicked_real"))


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["error"], str)
    assert body["error"]
    return body


# --- methods ---------------------------------------------------------------------------------


def test_head_on_a_valid_endpoint_answers_200_and_stores_nothing(client, dub_endpoint):
    response = client.head(dub_endpoint.get_absolute_url())

    assert response.status_code == 200
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_methods_other_than_post_and_head_answer_405_with_allow_header(
    client, dub_endpoint, dub_click_body, method
):
    url = dub_endpoint.get_absolute_url()
    if method == "get":
        response = client.get(url)
    else:
        response = getattr(client, method)(url, dub_click_body, content_type="application/json")

    body = assert_json_error(response, 405)
    assert response["Allow"] == "POST, HEAD"
    assert method.upper() in body["error"]
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


# --- finding the endpoint ----------------------------------------------------------------------


def test_a_dub_token_used_under_another_sender_is_not_found(
    client, dub_endpoint, heyoo_endpoint, dub_click_body
):
    response = client.post(
        f"/webhooks/heyoo/{dub_endpoint.token}/",
        dub_click_body,
        content_type="application/json",
        headers={"Dub-Signature": sign(DUB_SECRET, dub_click_body)},
    )

    assert_json_error(response, 404)
    assert not Delivery.objects.exists()


def test_an_unknown_sender_is_not_found(client, dub_endpoint, dub_click_body):
    response = client.post(
        f"/webhooks/mailchimp/{dub_endpoint.token}/",
        dub_click_body,
        content_type="application/json",
        headers={"Dub-Signature": sign(DUB_SECRET, dub_click_body)},
    )

    assert_json_error(response, 404)
    assert not Delivery.objects.exists()


def test_head_on_an_unknown_token_is_not_found(client, dub_endpoint):
    response = client.head("/webhooks/dub/not-the-token/")

    assert response.status_code == 404


def test_a_disabled_endpoint_is_not_found_and_stores_nothing(client, dub_endpoint, dub_click_body):
    WebhookEndpoint.objects.filter(pk=dub_endpoint.pk).update(is_active=False)

    response = post_webhook(client, dub_endpoint, dub_click_body)

    body = assert_json_error(response, 404)
    assert "disabled" in body["error"]
    assert response.status_code != 410  # Woodpecker unsubscribes on 410
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_head_on_a_disabled_endpoint_is_not_found(client, dub_endpoint):
    WebhookEndpoint.objects.filter(pk=dub_endpoint.pk).update(is_active=False)

    response = client.head(dub_endpoint.get_absolute_url())

    assert response.status_code == 404


# --- body size ------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(
    client, settings, dub_endpoint, dub_click_body
):
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    event = payload("dub/link_clicked_real")
    event["data"]["link"]["description"] = "x" * 4000
    body = js_json(event)

    response = post_webhook(client, dub_endpoint, body)

    body = assert_json_error(response, 413)
    assert "2048" in body["error"]
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_a_body_of_exactly_the_limit_is_accepted(client, settings, dub_endpoint, dub_click_body):
    settings.WEBHOOK_MAX_BODY_BYTES = len(dub_click_body)

    response = post_webhook(client, dub_endpoint, dub_click_body)

    assert response.status_code == 200
    assert Click.objects.count() == 1


# --- URL shape ------------------------------------------------------------------------------


@pytest.mark.parametrize("trailing_slash", ["/", ""])
def test_the_trailing_slash_is_optional_and_never_redirects(
    client, dub_endpoint, dub_click_body, trailing_slash
):
    response = client.post(
        f"/webhooks/dub/{dub_endpoint.token}{trailing_slash}",
        dub_click_body,
        content_type="application/json",
        headers={"Dub-Signature": sign(DUB_SECRET, dub_click_body)},
        follow=False,
    )
    process_queue()

    assert response.status_code == 200
    assert outcome(response)["clicks_created"] == 1
    assert Click.objects.count() == 1


# --- bodies that do not fit -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"this is not json", b'{"event": "link.clicked", ', b"\xff\xfe\x00", b""]
)
def test_a_body_that_is_not_json_answers_400_and_is_kept_as_failed(client, dub_endpoint, body):
    response = post_webhook(client, dub_endpoint, body)

    assert_json_error(response, 400)
    error = assert_kept_as_failed(response, body)
    assert "JSON" in error
    assert Delivery.objects.get().attempts == 0  # refused by the view: never processed
    assert not Click.objects.exists()


def test_a_json_body_of_the_wrong_shape_is_accepted_then_fails_naming_the_field(
    client, dub_endpoint, dub_click_body
):
    # The view checks only the top-level shape; the rest is the worker's, and the sender, which
    # cannot fix its payload anyway, is not told.
    event = json.loads(dub_click_body)
    del event["data"]["click"]["id"]
    body = js_json(event)

    response = post_webhook(client, dub_endpoint, body)

    assert response["Content-Type"] == "application/json"
    assert assert_failed_in_processing(response, body) == (
        "data.click.id must be a string, got nothing."
    )
    assert not Click.objects.exists()


# --- stored headers -------------------------------------------------------------------------


def test_stored_headers_mask_the_signature_and_drop_cookies(client, dub_endpoint, dub_click_body):
    signature = sign(DUB_SECRET, dub_click_body)
    client.cookies["sessionid"] = "cookie-value-123"

    response = post_webhook(
        client,
        dub_endpoint,
        dub_click_body,
        **{"User-Agent": "Dub-Webhook/1.0", "X-Webhook-Secret": DUB_SECRET},
    )

    assert response.status_code == 200
    headers = Delivery.objects.get().headers
    assert headers["Dub-Signature"] == "[masked]"
    assert headers["X-Webhook-Secret"] == "[masked]"
    assert headers["User-Agent"] == "Dub-Webhook/1.0"
    assert headers["Content-Type"] == "application/json"
    assert not {name for name in headers if name.lower() == "cookie"}
    stored = json.dumps(headers)
    assert signature not in stored
    assert DUB_SECRET not in stored
    assert "cookie-value-123" not in stored


def test_stored_headers_keep_the_authorization_scheme_but_mask_the_api_key(
    client, opptima_endpoint
):
    body = js_json(payload("opptima/click"))

    response = post_webhook(client, opptima_endpoint, body, **{"X-Api-Key": "opp_live_key_123"})

    assert response.status_code == 200
    headers = Delivery.objects.get().headers
    assert headers["Authorization"] == "Bearer [masked]"
    assert headers["X-Api-Key"] == "[masked]"
    assert opptima_endpoint.secret not in json.dumps(headers)


def test_a_configured_heyoo_signature_header_is_masked_too(client, settings, heyoo_endpoint):
    # HEYOO_SIGNATURE_HEADER is configurable; whatever it is called, its value is a signature.
    settings.HEYOO_SIGNATURE_HEADER = "X-Heyoo-Hmac-Sha256"
    body = js_json(payload("heyoo/campaign_clicked"))
    signature = sign(heyoo_endpoint.secret, body)

    response = post_webhook(client, heyoo_endpoint, body)

    assert response.status_code == 200
    headers = Delivery.objects.get().headers
    assert signature not in json.dumps(headers)


def test_the_remote_address_is_stored(client, woodpecker_endpoint):
    body = js_json(payload("woodpecker/link_clicked"))

    client.post(
        woodpecker_endpoint.get_absolute_url(),
        body,
        content_type="application/json",
        REMOTE_ADDR="203.0.113.7",
    )

    assert Delivery.objects.get().remote_addr == "203.0.113.7"


# --- database outages -----------------------------------------------------------------------

DRIVER_MESSAGE = "connection to server at 127.0.0.1, port 5432 failed"


@contextmanager
def database_down(table: str = "") -> Iterator[list[str]]:
    """Every statement (or every one naming ``table``) fails as it does when PostgreSQL has
    stopped; yields the statements that were attempted."""
    attempted: list[str] = []

    def refuse(execute, sql, params, many, context):
        attempted.append(sql)
        if table in sql:
            raise OperationalError(DRIVER_MESSAGE)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield attempted


def assert_spooled(response) -> str:
    """A 200 for a delivery kept in the spool; its spool id."""
    assert response.status_code == 200
    answer = response.json()
    assert answer == {"delivery": None, "status": "spooled", "spool_id": answer["spool_id"]}
    assert "5432" not in response.content.decode()  # no driver message leaks out
    return answer["spool_id"]


def assert_replayed_once(spool_id: str, body: bytes) -> None:
    """With PostgreSQL back, the spooled delivery moves into it exactly once and is processed."""
    assert spool.pending() == 1
    assert acceptance.replay_spool() == 1
    assert acceptance.replay_spool() == 0
    assert spool.pending() == 0
    delivery = Delivery.objects.get()
    assert (str(delivery.spool_id), bytes(delivery.body)) == (spool_id, body)
    assert delivery.status == Delivery.Status.RECEIVED
    process_queue()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED
    assert Click.objects.get().delivery == delivery


def test_database_down_while_storing_the_delivery_spools_it_and_answers_200(
    client, dub_endpoint, dub_click_body
):
    # A first delivery: this process knows the endpoints (and has saved their snapshot).
    assert post_webhook(client, dub_endpoint, dub_click_body, process=False).status_code == 200
    Delivery.objects.all().delete()

    with database_down() as attempted:
        response = post_webhook(client, dub_endpoint, dub_click_body, process=False)

    spool_id = assert_spooled(response)
    assert len(attempted) == 1  # the INSERT, refused; nothing else needed the database
    assert not Delivery.objects.exists()
    assert_replayed_once(spool_id, dub_click_body)


def test_database_down_while_finding_the_endpoint_authenticates_from_the_snapshot(
    client, dub_endpoint, dub_click_body
):
    # A first request reads the endpoints and keeps their snapshot in the spool file; then the
    # web process restarts (nothing in memory) while PostgreSQL is down.
    assert post_webhook(client, dub_endpoint, dub_click_body, process=False).status_code == 200
    Delivery.objects.all().delete()
    acceptance.forget_endpoints()

    with database_down() as attempted:
        response = post_webhook(client, dub_endpoint, dub_click_body, process=False)
        forged = post_webhook(
            client, dub_endpoint, dub_click_body, process=False, **{"Dub-Signature": "0" * 64}
        )
        unknown = client.post(
            "/webhooks/dub/not-the-token/", dub_click_body, content_type="application/json"
        )

    assert any("analytics_webhookendpoint" in sql for sql in attempted)  # it did try
    spool_id = assert_spooled(response)
    assert forged.status_code == 401
    assert unknown.status_code == 404
    assert_replayed_once(spool_id, dub_click_body)


def test_database_down_while_processing_leaves_the_accepted_delivery_queued(
    client, dub_endpoint, dub_click_body
):
    # The sender has its 200 before processing begins; an outage then only delays the click.
    response = post_webhook(client, dub_endpoint, dub_click_body, process=False)
    assert response.json() == accepted(Delivery.objects.get().pk)

    with database_down(table="analytics_click"), pytest.raises(OperationalError):
        intake.process_queued(100)

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.RECEIVED, 0)
    assert not Link.objects.exists()  # written before the failure, rolled back with it
    assert not Click.objects.exists()

    process_queue()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED
    assert Click.objects.get().delivery == delivery


def test_database_down_during_head_answers_from_the_endpoint_cache(client, dub_endpoint):
    url = dub_endpoint.get_absolute_url()
    assert client.head(url).status_code == 200  # this process now knows the endpoints

    with database_down() as attempted:
        response = client.head(url)

    assert response.status_code == 200
    assert attempted == []
    assert not Delivery.objects.exists()
