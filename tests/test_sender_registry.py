"""A sender is its entry in analytics.senders.SENDERS: a toy fifth sender, registered here and
nowhere else, is received, processed, validated and explained like the built-in four."""

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from analytics.models import Click, Delivery, WebhookEndpoint
from analytics.senders import SENDERS, ClickData, Event
from analytics.senders.fields import load_json, required_text, text, timestamp
from analytics.senders.spec import HmacSignature, SenderSpec, UrlTokenOnly
from tests.conftest import accepted, assert_kept_as_failed, js_json, outcome, post_webhook, summary

TOY_SECRET = "toy_0123456789abcdef"


def parse_toy(body: bytes, zone: ZoneInfo) -> list[Event]:
    """``{"type": "click", "id", "at", "url"}`` is a click; any other type is ignored."""
    document = load_json(body)
    kind = text(document, "type")
    if kind != "click":
        return [Event(event_type=kind)]
    click_id = required_text(document, "id", "")
    occurred_at, raw = timestamp(document, "at", "", zone)
    click = ClickData(
        click_key=click_id,
        external_id=click_id,
        occurred_at=occurred_at,
        occurred_at_raw=raw,
        url=text(document, "url"),
    )
    return [Event(event_type=kind, click=click)]


TOY = SenderSpec(
    key="toy",
    label="Toy",
    parse=parse_toy,
    shape=(dict,),
    shape_error="The body must be a JSON object with type, id and at.",
    auth=HmacSignature("Toy-Signature"),
    default_time_zone="Europe/Paris",
    demo_secret_prefix="toy_",
)


@pytest.fixture
def toy(db, monkeypatch) -> SenderSpec:
    monkeypatch.setitem(SENDERS, TOY.key, TOY)
    return TOY


def _click(click_id: str = "toy-1") -> bytes:
    return js_json({"type": "click", "id": click_id, "at": "2025-06-01 12:00:00", "url": "/a"})


def test_a_sender_unknown_to_the_registry_has_no_webhook(client, db):
    response = client.post("/webhooks/toy/toy-token-0123456789/", _click(), "application/json")

    assert response.status_code == 404
    assert response.json() == {"error": "No toy webhook endpoint has this URL."}


def test_a_registered_sender_receives_and_processes_clicks(client, toy):
    endpoint = WebhookEndpoint.objects.create(sender="toy", name="Toy shop", secret=TOY_SECRET)
    assert endpoint.time_zone == "Europe/Paris"  # the spec's default

    response = post_webhook(client, endpoint, _click())

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == accepted(delivery.pk)
    assert outcome(response) == summary(delivery.pk, "processed", created=1)
    assert delivery.event_type == "click"
    assert delivery.headers["Toy-Signature"] == "[masked]"
    click = Click.objects.get()
    assert (click.sender, click.click_key, click.endpoint, click.url) == (
        "toy",
        "toy-1",
        endpoint,
        "/a",
    )
    # The naive time is read in the endpoint's zone: noon in Paris in summer is 10:00 UTC.
    assert click.occurred_at.isoformat() == "2025-06-01T10:00:00+00:00"

    again = post_webhook(client, endpoint, _click())
    assert outcome(again)["status"] == "duplicate"
    ignored = post_webhook(client, endpoint, js_json({"type": "refund"}))
    assert outcome(ignored)["status"] == "ignored"
    assert Click.objects.count() == 1


def test_a_registered_sender_authenticates_and_checks_the_shape_as_its_spec_says(client, toy):
    endpoint = WebhookEndpoint.objects.create(sender="toy", name="Toy shop", secret=TOY_SECRET)

    unsigned = client.post(endpoint.get_absolute_url(), _click(), "application/json")
    forged = post_webhook(client, endpoint, _click(), **{"Toy-Signature": "0" * 64})

    assert unsigned.status_code == forged.status_code == 401
    assert unsigned.json() == {"error": "Missing Toy-Signature header."}
    assert forged.json()["error"].startswith("The Toy-Signature header does not match")
    assert not Delivery.objects.exists()

    body = js_json([{"type": "click"}])
    response = post_webhook(client, endpoint, body)

    assert assert_kept_as_failed(response, body) == TOY.shape_error


def test_a_registered_sender_is_a_valid_choice_and_follows_its_secret_rule(toy, monkeypatch):
    endpoint = WebhookEndpoint(sender="toy", name="Toy shop", secret=TOY_SECRET)
    endpoint.full_clean()
    assert endpoint.get_sender_display() == "Toy"

    with pytest.raises(ValidationError) as unknown:
        WebhookEndpoint(sender="nope", name="Nope").full_clean()
    assert "sender" in unknown.value.message_dict

    quiet = replace(TOY, key="quiet", label="Quiet", auth=UrlTokenOnly())
    monkeypatch.setitem(SENDERS, quiet.key, quiet)
    with pytest.raises(ValidationError) as secret:
        WebhookEndpoint(sender="quiet", name="Quiet", secret="s").full_clean()
    assert secret.value.message_dict == {
        "secret": ["Quiet does not sign webhooks; its URL token is its only check."]
    }


def test_the_admin_offers_and_explains_a_registered_sender(admin_client, toy):
    add = reverse("admin:analytics_webhookendpoint_add")

    page = admin_client.get(add).content.decode()

    assert '<option value="toy">Toy</option>' in page
    assert "Toy signs each request: the Toy-Signature header holds" in page
    assert "Toy: signing secret." in page
    assert "Toy Europe/Paris" in page

    response = admin_client.post(
        add,
        {"name": "Toy shop", "sender": "toy", "secret": TOY_SECRET, "is_active": "on"},
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get(sender="toy")
    assert (endpoint.secret, endpoint.time_zone) == (TOY_SECRET, "Europe/Paris")
    assert f"Give Toy this webhook URL: http://testserver{endpoint.get_absolute_url()}" in (
        response.content.decode()
    )
    change = reverse("admin:analytics_webhookendpoint_change", args=[endpoint.pk])
    assert "Toy signs each request" in admin_client.get(change).content.decode()
