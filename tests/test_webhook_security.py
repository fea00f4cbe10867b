import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from analytics.models import Click, Delivery
from analytics.senders.spec import sign
from tests.conftest import js_json, payload, post_webhook


@pytest.fixture
def body() -> bytes:
    return js_json(payload("dub/link_clicked_real"))


def _post_signed(client, endpoint, body: bytes, secret: str, url: str | None = None):
    return client.post(
        url or endpoint.get_absolute_url(),
        body,
        content_type="application/json",
        headers={"Dub-Signature": sign(secret, body)},
    )


def test_old_secret_keeps_working_during_the_rotation_grace(client, dub_endpoint, body):
    old_secret = dub_endpoint.secret
    dub_endpoint.rotate_secret("whsec_" + "b" * 32)

    assert _post_signed(client, dub_endpoint, body, old_secret).status_code == 200
    assert _post_signed(client, dub_endpoint, body, "whsec_" + "b" * 32).status_code == 200


def test_old_secret_is_refused_once_the_grace_is_over(client, dub_endpoint, body):
    old_secret = dub_endpoint.secret
    dub_endpoint.rotate_secret("whsec_" + "b" * 32)
    dub_endpoint.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    dub_endpoint.save()

    assert _post_signed(client, dub_endpoint, body, old_secret).status_code == 401
    assert not Delivery.objects.exists()


def test_old_token_url_keeps_working_during_the_rotation_grace(client, woodpecker_endpoint):
    old_url = woodpecker_endpoint.get_absolute_url()
    woodpecker_endpoint.rotate_token()
    body = js_json(payload("woodpecker/link_clicked"))

    old = client.post(old_url, body, content_type="application/json")
    new = client.post(woodpecker_endpoint.get_absolute_url(), body, content_type="application/json")

    assert (old.status_code, new.status_code) == (200, 200)
    assert old_url != woodpecker_endpoint.get_absolute_url()


def test_old_token_url_is_404_once_the_grace_is_over(client, woodpecker_endpoint):
    old_url = woodpecker_endpoint.get_absolute_url()
    woodpecker_endpoint.rotate_token(grace=timedelta(0))
    body = js_json(payload("woodpecker/link_clicked"))

    assert client.post(old_url, body, content_type="application/json").status_code == 404


def test_a_flooding_endpoint_gets_429_while_others_are_served(
    client, settings, dub_endpoint, woodpecker_endpoint, body
):
    settings.WEBHOOK_RATE_LIMIT = 1
    settings.WEBHOOK_RATE_BURST = 2
    statuses = [post_webhook(client, dub_endpoint, body).status_code for _ in range(3)]
    flooded = post_webhook(client, dub_endpoint, body)
    other = post_webhook(client, woodpecker_endpoint, js_json(payload("woodpecker/link_clicked")))

    assert statuses == [200, 200, 429]
    assert flooded.status_code == 429
    assert int(flooded["Retry-After"]) >= 1
    assert "retry" in flooded.json()["error"]
    assert other.status_code == 200
    assert Delivery.objects.filter(endpoint=dub_endpoint).count() == 2


def test_without_a_configured_rate_limit_an_authenticated_burst_is_all_accepted(
    client, settings, dub_endpoint, body
):
    # Senders disable receivers that answer 429 (Dub after 20 in a row): off unless configured.
    assert settings.WEBHOOK_RATE_LIMIT == 0
    settings.WEBHOOK_RATE_BURST = 1  # what any configured rate would allow at once

    statuses = [
        post_webhook(client, dub_endpoint, body, process=False).status_code for _ in range(5)
    ]

    assert statuses == [200] * 5
    assert Delivery.objects.filter(endpoint=dub_endpoint).count() == 5


def test_secrets_never_reach_the_stored_delivery(client, opptima_endpoint):
    post_webhook(client, opptima_endpoint, js_json(payload("opptima/click")))

    delivery = Delivery.objects.get()
    assert opptima_endpoint.secret not in str(delivery.headers)
    assert delivery.headers["Authorization"] == "Bearer [masked]"


def test_pages_carry_a_content_security_policy_without_inline_scripts(marketer_client):
    response = marketer_client.get("/dashboard/")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert b"<script>" not in response.content  # only json_script blocks and files


def test_sign_in_is_locked_after_repeated_failures(client, marketer):
    statuses = [
        client.post("/accounts/login/", {"username": "mia", "password": "wrong"}).status_code
        for _ in range(5)
    ]
    locked = client.post("/accounts/login/", {"username": "mia", "password": "a-long-passphrase"})

    assert statuses == [200, 200, 200, 200, 429]  # the form with its error, then the lock
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content


def test_sign_in_form_requires_csrf(marketer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    response = strict.post("/accounts/login/", {"username": "mia", "password": "a-long-passphrase"})

    assert response.status_code == 403


def test_production_settings_pass_the_deployment_checklist():
    env = {
        **os.environ,
        "DEBUG": "false",
        "HTTPS": "true",
        "SECRET_KEY": "x7!" + "k2#qL9$vT" * 6,
        "ALLOWED_HOSTS": "clicks.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "HTTPS": "true", "SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set when HTTPS=true" in result.stderr


def test_bad_signature_stores_nothing_and_creates_no_click(client, dub_endpoint, body):
    response = _post_signed(client, dub_endpoint, body, "whsec_wrong")

    assert response.status_code == 401
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_unsigned_requests_do_not_spend_the_senders_rate(client, settings, dub_endpoint, body):
    settings.WEBHOOK_RATE_LIMIT = 1
    settings.WEBHOOK_RATE_BURST = 1
    forged = [
        client.post(dub_endpoint.get_absolute_url(), body, content_type="application/json")
        for _ in range(3)
    ]

    genuine = post_webhook(client, dub_endpoint, body)

    assert [r.status_code for r in forged] == [401, 401, 401]
    assert genuine.status_code == 200


def test_a_chunked_body_is_asked_for_a_content_length(client, dub_endpoint):
    response = client.generic(
        "POST",
        dub_endpoint.get_absolute_url(),
        b"",
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        CONTENT_LENGTH="",
    )

    assert response.status_code == 411
    assert "Content-Length" in response.json()["error"]
    assert not Delivery.objects.exists()
