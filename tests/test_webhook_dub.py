"""Dub only: how its click is normalized and its link stands in for a campaign. What every sender
does (storage, redelivery, authentication, bad bodies, reprocessing) is in tests/test_senders.py."""

import pytest

from analytics.models import Campaign, Click, Link
from tests.conftest import js_json, payload, post_webhook


@pytest.fixture
def link_clicked() -> dict:
    return payload("dub/link_clicked")


def test_dub_link_clicked_is_normalized(client, dub_endpoint, link_clicked):
    post_webhook(client, dub_endpoint, js_json(link_clicked))

    click = Click.objects.get()
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


def test_dub_reports_bot_flag_as_sent(client, dub_endpoint, link_clicked):
    link_clicked["data"]["click"]["bot"] = True

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    assert Click.objects.get().is_bot is True


def test_dub_detects_bots_from_user_agent_when_not_told(client, dub_endpoint, link_clicked):
    link_clicked["data"]["click"]["ua"] = "Mozilla/5.0 (compatible; Googlebot/2.1)"

    post_webhook(client, dub_endpoint, js_json(link_clicked))

    assert Click.objects.get().is_bot is True
