import json

import pytest

from analytics.models import Campaign, Click, Delivery, Link
from tests.conftest import (
    DUB_SECRET,
    accepted,
    js_json,
    outcome,
    payload,
    post_webhook,
    summary,
)


@pytest.fixture
def link_clicked() -> dict:
    return payload("dub/link_clicked")


def test_dub_link_clicked_is_stored_as_one_normalized_click(client, dub_endpoint, link_clicked):
    response = post_webhook(client, dub_endpoint, js_json(link_clicked))

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == accepted(delivery.pk)
    assert outcome(response) == summary(delivery.pk, "processed", created=1)
    click = Click.objects.get()
    assert click.sender == "dub"
    assert click.external_id == click.click_key == "yNrYm0F6r1KMnq6N"
    assert click.occurred_at.isoformat() == "2025-02-03T09:35:57.926000+00:00"
    assert click.occurred_at_raw == "2025-02-03T09:35:57.926Z"
    assert click.url == "https://github.com/dubinc/dub"
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
    assert click.campaign is None
    assert click.link == Link.objects.get(external_id="cm0lcuvtz000xcutmqw4a7wi3")
    assert click.link.short_link == "https://dub.sh/track-test"
    assert click.delivery.status == Delivery.Status.PROCESSED
    assert bytes(click.delivery.body) == js_json(link_clicked)


def test_dub_uses_the_links_utm_campaign_as_campaign(client, dub_endpoint, link_clicked):
    link_clicked["data"]["link"].update(utm_campaign="spring-sale", utm_source="newsletter")

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    click = Click.objects.get()
    assert click.campaign == Campaign.objects.get(sender="dub", external_id="spring-sale")
    assert (click.utm_source, click.utm_campaign) == ("newsletter", "spring-sale")


def test_dub_signature_covers_raw_bytes_with_non_ascii(client, dub_endpoint, link_clicked):
    link_clicked["data"]["click"]["city"] = "São Paulo"
    body = js_json(link_clicked)
    assert "São".encode() in body  # sent unescaped, as JSON.stringify does

    response = post_webhook(client, dub_endpoint, body)

    assert response.status_code == 200
    assert Click.objects.get().city == "São Paulo"


def test_dub_rejects_wrong_signature(client, dub_endpoint, link_clicked):
    response = post_webhook(
        client, dub_endpoint, js_json(link_clicked), **{"Dub-Signature": "0" * 64}
    )

    assert response.status_code == 401
    assert "Dub-Signature" in response.json()["error"]
    assert not Delivery.objects.exists()


def test_dub_rejects_a_reserialized_body(client, dub_endpoint, link_clicked):
    signed_body = js_json(link_clicked)
    from analytics.senders.spec import sign

    response = client.post(
        dub_endpoint.get_absolute_url(),
        json.dumps(link_clicked, indent=2),
        content_type="application/json",
        headers={"Dub-Signature": sign(DUB_SECRET, signed_body)},
    )

    assert response.status_code == 401


def test_dub_rejects_missing_signature(client, dub_endpoint, link_clicked):
    response = client.post(
        dub_endpoint.get_absolute_url(), js_json(link_clicked), content_type="application/json"
    )

    assert response.status_code == 401
    assert response.json()["error"] == "Missing Dub-Signature header."
    assert not Delivery.objects.exists()


def test_dub_rejects_wrong_token(client, dub_endpoint, link_clicked):
    response = client.post(
        "/webhooks/dub/not-the-token/", js_json(link_clicked), content_type="application/json"
    )

    assert response.status_code == 404
    assert not Delivery.objects.exists()


def test_dub_redelivery_creates_no_second_click(client, dub_endpoint, link_clicked):
    post_webhook(client, dub_endpoint, js_json(link_clicked))
    response = post_webhook(client, dub_endpoint, js_json(link_clicked))

    assert response.status_code == 200
    assert outcome(response) == summary(Delivery.objects.latest("pk").pk, "duplicate", duplicates=1)
    assert Click.objects.count() == 1
    assert Delivery.objects.count() == 2


@pytest.mark.parametrize("name", ["dub/lead_created", "dub/sale_created", "dub/link_created"])
def test_dub_non_click_events_are_kept_and_ignored(client, dub_endpoint, name):
    response = post_webhook(client, dub_endpoint, js_json(payload(name)))

    assert response.status_code == 200
    assert outcome(response)["ignored"] == 1
    assert not Click.objects.exists()
    assert Delivery.objects.get().status == Delivery.Status.IGNORED


def test_dub_reports_bot_flag_as_sent(client, dub_endpoint, link_clicked):
    link_clicked["data"]["click"]["bot"] = True

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    assert Click.objects.get().is_bot is True


def test_dub_detects_bots_from_user_agent_when_not_told(client, dub_endpoint, link_clicked):
    link_clicked["data"]["click"]["ua"] = "Mozilla/5.0 (compatible; Googlebot/2.1)"

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    assert Click.objects.get().is_bot is True
