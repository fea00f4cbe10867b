"""The HTTP contract of ``POST /webhooks/<sender>/<token>/`` that every sender relies on."""

import json

import pytest
from django.db import OperationalError

from analytics import intake
from analytics.models import Click, Delivery, WebhookEndpoint
from analytics.webhooks import sign
from tests.conftest import DUB_SECRET, js_json, payload, post_webhook


@pytest.fixture
def dub_click_body() -> bytes:
    return js_json(payload("dub_link_clicked"))


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
    event = payload("dub_link_clicked")
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

    assert response.status_code == 200
    assert response.json()["clicks_created"] == 1
    assert Click.objects.count() == 1


# --- bodies that do not fit -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"this is not json", b'{"event": "link.clicked", ', b"\xff\xfe\x00", b""]
)
def test_a_body_that_is_not_json_answers_400_and_is_kept_as_failed(client, dub_endpoint, body):
    response = post_webhook(client, dub_endpoint, body)

    answer = assert_json_error(response, 400)
    delivery = Delivery.objects.get()
    assert answer["delivery"] == delivery.pk
    assert "JSON" in answer["error"]
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.error == answer["error"]
    assert bytes(delivery.body) == body
    assert delivery.attempts == 1
    assert not Click.objects.exists()


def test_a_json_body_of_the_wrong_shape_answers_400_naming_the_field(
    client, dub_endpoint, dub_click_body
):
    event = json.loads(dub_click_body)
    del event["data"]["click"]["id"]

    response = post_webhook(client, dub_endpoint, js_json(event))

    answer = assert_json_error(response, 400)
    assert "data.click.id" in answer["error"]
    assert Delivery.objects.get().status == Delivery.Status.FAILED


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
    body = js_json(payload("opptima_click"))

    response = post_webhook(client, opptima_endpoint, body, **{"X-Api-Key": "opp_live_key_123"})

    assert response.status_code == 200
    headers = Delivery.objects.get().headers
    assert headers["Authorization"] == "Bearer [masked]"
    assert headers["X-Api-Key"] == "[masked]"
    assert opptima_endpoint.secret not in json.dumps(headers)


def test_a_configured_heyoo_signature_header_is_masked_too(client, settings, heyoo_endpoint):
    # HEYOO_SIGNATURE_HEADER is configurable; whatever it is called, its value is a signature.
    settings.HEYOO_SIGNATURE_HEADER = "X-Heyoo-Hmac-Sha256"
    body = js_json(payload("heyoo_campaign_clicked"))
    signature = sign(heyoo_endpoint.secret, body)

    response = post_webhook(client, heyoo_endpoint, body)

    assert response.status_code == 200
    headers = Delivery.objects.get().headers
    assert signature not in json.dumps(headers)


def test_the_remote_address_is_stored(client, woodpecker_endpoint):
    body = js_json(payload("woodpecker_link_clicked"))

    client.post(
        woodpecker_endpoint.get_absolute_url(),
        body,
        content_type="application/json",
        REMOTE_ADDR="203.0.113.7",
    )

    assert Delivery.objects.get().remote_addr == "203.0.113.7"


# --- database outages -----------------------------------------------------------------------


def _outage(*args, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")


def _assert_service_unavailable(response) -> None:
    body = assert_json_error(response, 503)
    assert response["Retry-After"].isdigit()
    assert int(response["Retry-After"]) > 0
    assert "database" in body["error"].lower()
    assert "Traceback" not in response.content.decode()
    assert "5432" not in response.content.decode()  # no driver message leaks out


def test_database_down_while_finding_the_endpoint_answers_503(
    client, monkeypatch, dub_endpoint, dub_click_body
):
    monkeypatch.setattr(WebhookEndpoint.objects, "filter", _outage)

    response = post_webhook(client, dub_endpoint, dub_click_body)

    _assert_service_unavailable(response)


def test_database_down_while_storing_the_delivery_answers_503(
    client, monkeypatch, dub_endpoint, dub_click_body
):
    monkeypatch.setattr(intake, "receive", _outage)

    response = post_webhook(client, dub_endpoint, dub_click_body)

    _assert_service_unavailable(response)
    assert not Delivery.objects.exists()


def test_database_down_while_processing_answers_503_and_keeps_nothing_half_done(
    client, monkeypatch, dub_endpoint, dub_click_body
):
    # Delivery and clicks commit together: the sender is told to retry, and its retry finds
    # no half-stored delivery to trip over.
    monkeypatch.setattr(intake, "process", _outage)

    response = post_webhook(client, dub_endpoint, dub_click_body)

    _assert_service_unavailable(response)
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_database_down_during_head_answers_503(client, monkeypatch, dub_endpoint):
    monkeypatch.setattr(WebhookEndpoint.objects, "filter", _outage)

    response = client.head(dub_endpoint.get_absolute_url())

    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
