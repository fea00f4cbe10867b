"""Deployed servers answer deliveries through ``clicktrack.wsgi`` without Django's request cycle:
the same answers, headers and rows as the view the test client reaches."""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django.test import RequestFactory

from analytics import acceptance
from analytics.models import Delivery, WebhookEndpoint
from analytics.senders import SENDERS
from clicktrack.wsgi import application
from tests.conftest import js_json, payload


def deploy_post(
    endpoint: WebhookEndpoint | None,
    body: bytes,
    *,
    path: str = "",
    method: str = "post",
    **headers,
) -> tuple[int, dict[str, str], bytes]:
    """Call the deployed WSGI application as granian would; status, headers and body."""
    if endpoint is not None and endpoint.secret:
        headers = SENDERS[endpoint.sender].sign_headers(endpoint.secret, body) | headers
    url = path or endpoint.get_absolute_url()
    factory = getattr(RequestFactory(), method)
    kwargs = {"content_type": "application/json", "headers": headers}
    request = factory(url, body, **kwargs) if method not in ("get", "head") else factory(url)
    seen: list[tuple[str, list]] = []
    chunks = application(request.environ, lambda status, hdrs: seen.append((status, hdrs)))
    content = b"".join(chunks)
    status, header_list = seen[0]
    return int(status.split()[0]), dict(header_list), content


def client_post(client, endpoint: WebhookEndpoint, body: bytes, **headers):
    if endpoint.secret:
        headers = SENDERS[endpoint.sender].sign_headers(endpoint.secret, body) | headers
    return client.post(
        endpoint.get_absolute_url(), body, content_type="application/json", headers=headers
    )


@pytest.fixture
def dub_click_body() -> bytes:
    return js_json(payload("dub/link_clicked_real"))


def test_deployed_app_accepts_a_signed_delivery_and_stores_it(dub_endpoint, dub_click_body):
    status, headers, content = deploy_post(dub_endpoint, dub_click_body)

    assert status == 200
    answer = json.loads(content)
    assert answer == {"delivery": answer["delivery"], "status": "received"}
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(content))
    delivery = Delivery.objects.get(pk=answer["delivery"])
    assert bytes(delivery.body) == dub_click_body
    assert delivery.endpoint == dub_endpoint
    assert delivery.status == Delivery.Status.RECEIVED
    assert delivery.headers["Dub-Signature"] == "[masked]"


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("wrong signature", 401),
        ("unknown token", 404),
        ("not json", 400),
        ("get", 405),
        ("too large", 413),
    ],
)
def test_deployed_app_answers_as_the_view_does(
    client, dub_endpoint, dub_click_body, settings, case, status
):
    settings.WEBHOOK_MAX_BODY_BYTES = 4096
    body, headers, endpoint = dub_click_body, {}, dub_endpoint
    if case == "wrong signature":
        headers = {"Dub-Signature": "0" * 64}
    elif case == "unknown token":
        endpoint = WebhookEndpoint(sender="dub", token="nope", secret=dub_endpoint.secret)
    elif case == "not json":
        body = b"{not json"
    elif case == "too large":
        body = b" " * 5000

    if case == "get":
        deployed = deploy_post(endpoint, b"", method="get")
        viewed = client.get(endpoint.get_absolute_url())
    else:
        deployed = deploy_post(endpoint, body, **headers)
        viewed = client_post(client, endpoint, body, **headers)

    deployed_status, deployed_headers, deployed_content = deployed
    assert deployed_status == viewed.status_code == status
    deployed_answer, viewed_answer = json.loads(deployed_content), viewed.json()
    if "delivery" in viewed_answer:  # a body kept as failed: each request stored its own
        assert deployed_answer.pop("delivery") != viewed_answer.pop("delivery")
    assert deployed_answer == viewed_answer
    assert deployed_headers.get("Allow") == viewed.headers.get("Allow")


def test_deployed_app_sends_the_headers_the_view_gets_from_middleware(
    client, dub_endpoint, dub_click_body
):
    _, deployed, _ = deploy_post(dub_endpoint, dub_click_body)
    viewed = client_post(client, dub_endpoint, dub_click_body)

    ignored = {"Content-Length"}  # the two bodies differ by their delivery id
    assert {k: v for k, v in deployed.items() if k not in ignored} == {
        k: v for k, v in viewed.headers.items() if k not in ignored
    }


def test_deployed_app_sends_hsts_behind_a_tls_proxy(settings, dub_endpoint, dub_click_body):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = False
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    _, plain, _ = deploy_post(dub_endpoint, dub_click_body)
    _, proxied, _ = deploy_post(dub_endpoint, dub_click_body, **{"X-Forwarded-Proto": "https"})

    assert "Strict-Transport-Security" not in plain
    assert proxied["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


@pytest.mark.parametrize("path", ["/webhooks/dub/", "/webhooks/dub/a/b/", "/webhooks/"])
def test_deployed_app_answers_404_json_for_paths_without_sender_and_token(db, path):
    status, headers, content = deploy_post(None, b"{}", path=path)

    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(content) == {"error": "No webhook endpoint has this URL."}


def test_deployed_app_accepts_the_url_without_its_trailing_slash(dub_endpoint, dub_click_body):
    path = dub_endpoint.get_absolute_url().rstrip("/")

    status, _, content = deploy_post(dub_endpoint, dub_click_body, path=path)

    assert status == 200
    assert Delivery.objects.filter(pk=json.loads(content)["delivery"]).exists()


def test_deployed_app_answers_head_without_a_body(dub_endpoint):
    status, _, content = deploy_post(dub_endpoint, b"", method="head")

    assert (status, content) == (200, b"")
    assert not Delivery.objects.exists()


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """Every statement any psycopg cursor sends meanwhile, Django's raw health checks included."""
    statements: list[str] = []
    original = psycopg.Cursor.execute

    def execute(self, query, params=None, **kwargs):
        statements.append(str(query))
        return original(self, query, params, **kwargs)

    psycopg.Cursor.execute = execute
    try:
        yield statements
    finally:
        psycopg.Cursor.execute = original


def test_deployed_app_sends_one_statement_per_delivery(dub_endpoint, dub_click_body):
    deploy_post(dub_endpoint, dub_click_body)  # the endpoint cache is filled

    with recorded_statements() as statements:
        status, _, _ = deploy_post(dub_endpoint, dub_click_body)

    assert status == 200
    assert len(statements) == 1
    assert statements[0].split()[:3] == ["INSERT", "INTO", "analytics_delivery"]


@pytest.mark.django_db(transaction=True)
def test_deployed_app_spools_on_a_broken_connection_and_connects_afresh(
    dub_endpoint, dub_click_body
):
    deploy_post(dub_endpoint, dub_click_body)
    connection.connection.close()  # PostgreSQL restarted under a kept connection

    status, _, content = deploy_post(dub_endpoint, dub_click_body)

    assert status == 200
    assert json.loads(content)["status"] == "spooled"
    assert connection.connection is None  # dropped, not reused

    acceptance.forget_endpoints()  # no waiting out the retry pause
    status, _, content = deploy_post(dub_endpoint, dub_click_body)

    assert status == 200
    assert Delivery.objects.filter(pk=json.loads(content)["delivery"]).exists()
