"""Heyoo only: its click's normalization, its sharer, and the campaign events that name campaigns.
What every sender does (storage, redelivery, authentication, bad bodies, reprocessing) is in
tests/test_senders.py."""

import copy

import pytest

from analytics.models import Campaign, Click, Contact, Delivery
from analytics.senders.spec import sign
from tests.conftest import js_json, outcome, payload, post_webhook


@pytest.fixture
def campaign_clicked() -> dict:
    return payload("heyoo/campaign_clicked")


def _another_click(event: dict, click_id: str, **click_fields: object) -> dict:
    event = copy.deepcopy(event)
    event["data"]["click"].update(id=click_id, **click_fields)
    return event


# --- the documented example --------------------------------------------------------------------


def test_heyoo_campaign_clicked_is_normalized(client, heyoo_endpoint, campaign_clicked):
    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))

    click = Click.objects.get()
    assert click.external_id == click.click_key == "clk_..."
    assert click.occurred_at.isoformat() == "2024-08-26T16:41:52.346000+00:00"
    assert click.occurred_at_raw == "2024-08-26T16:41:52.346Z"
    assert click.url == "https://heyoo.ai/summer?ref=..."
    assert (click.country, click.continent, click.region, click.city) == (
        "US",
        "NA",
        "CA",
        "San Francisco",
    )
    assert (click.latitude, click.longitude) == (None, None)
    assert (click.device, click.browser, click.os) == ("mobile", "Chrome", "iOS")
    assert (click.referer, click.referer_url) == ("linkedin.com", "https://www.linkedin.com/")
    assert (click.is_qr, click.is_bot, click.is_unique) == (False, False, True)
    assert click.ip == "192.168.1.0"
    assert (click.utm_source, click.utm_medium, click.utm_campaign) == (
        "heyoo",
        "referral",
        "summer_2024",
    )
    assert click.link is None

    assert (click.campaign.sender, click.campaign.external_id, click.campaign.name) == (
        "heyoo",
        "cm11...",
        "Summer Referral Push",
    )
    assert click.campaign.destination_url == "https://heyoo.ai/summer"
    assert click.campaign.status == "active"
    assert click.campaign.details["objective"] == "increase_awareness"
    assert "clicks" not in click.campaign.details  # counters change on every event

    # The sharer is the employee whose post was clicked, not the visitor.
    assert click.recipient is None
    assert click.sharer == Contact.objects.get(sender="heyoo", email="john@example.com")
    assert (click.sharer.name, click.sharer.external_id) == ("John Doe", "usr_...")


def test_heyoo_clicks_by_two_visitors_on_one_sharers_post_keep_one_sharer(
    client, heyoo_endpoint, campaign_clicked
):
    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))
    other_visitor = _another_click(campaign_clicked, "clk_other_ip", ip="203.0.113.7")

    post_webhook(client, heyoo_endpoint, js_json(other_visitor))

    assert list(Click.objects.order_by("pk").values_list("is_unique", flat=True)) == [True, True]
    assert Contact.objects.count() == 1
    assert {click.sharer.email for click in Click.objects.all()} == {"john@example.com"}


# --- authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("unknown", ["Unknown", "unknown", "(unknown)", "N/A"])
def test_heyoo_unknown_place_device_and_referer_are_stored_as_unknown(
    client, heyoo_endpoint, campaign_clicked, unknown
):
    # Heyoo's click object is Dub's (analytics/senders/click_object.py), "Unknown"s included.
    fields = ("country", "region", "city", "continent", "device", "browser", "os", "referer")
    campaign_clicked["data"]["click"].update(dict.fromkeys(fields, unknown), refererUrl=unknown)

    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))

    click = Click.objects.get()
    assert (click.country, click.continent, click.region, click.city) == ("", "", "", "")
    assert (click.device, click.browser, click.os) == ("", "", "")
    assert (click.referer, click.referer_url) == ("", "")


def test_heyoo_rejects_a_valid_signature_sent_in_dubs_header(
    client, heyoo_endpoint, campaign_clicked
):
    body = js_json(campaign_clicked)

    response = client.post(
        heyoo_endpoint.get_absolute_url(),
        body,
        content_type="application/json",
        headers={"Dub-Signature": sign(heyoo_endpoint.secret, body)},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "Missing Heyoo-Signature header."
    assert not Delivery.objects.exists()


# --- events that are not clicks ----------------------------------------------------------------


def test_heyoo_campaign_shared_records_its_campaign(client, heyoo_endpoint):
    post_webhook(client, heyoo_endpoint, js_json(payload("heyoo/campaign_shared")))

    campaign = Campaign.objects.get()
    assert (campaign.sender, campaign.external_id, campaign.name) == (
        "heyoo",
        "cm11...",
        "Summer Referral Push",
    )


def test_heyoo_post_published_creates_no_campaign(client, heyoo_endpoint):
    post_webhook(client, heyoo_endpoint, js_json(payload("heyoo/post_published")))

    assert not Campaign.objects.exists()


def test_heyoo_campaign_created_upserts_the_campaign_name(client, heyoo_endpoint):
    created = payload("heyoo/campaign_created")  # the campaign object is the whole of data

    response = post_webhook(client, heyoo_endpoint, js_json(created))

    assert response.status_code == 200
    assert outcome(response)["status"] == "ignored"
    assert not Click.objects.exists()
    campaign = Campaign.objects.get()
    assert (campaign.sender, campaign.external_id, campaign.name) == (
        "heyoo",
        "cm11q3oxr0000a...",
        "Acme Fall 2024",
    )
    assert (campaign.status, campaign.destination_url) == ("draft", "https://acme.com")
    assert (campaign.utm_source, campaign.utm_medium, campaign.utm_campaign) == (
        "heyoo",
        "referral",
        "fall_2024",
    )

    created["id"] = "evt_renamed"
    created["data"]["name"] = "Acme Autumn 2024"
    post_webhook(client, heyoo_endpoint, js_json(created))

    campaign = Campaign.objects.get()
    assert campaign.external_id == "cm11q3oxr0000a..."
    assert campaign.name == "Acme Autumn 2024"
    assert campaign.status == "draft"


def test_heyoo_campaign_event_renames_the_campaign_of_earlier_clicks(
    client, heyoo_endpoint, campaign_clicked
):
    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))
    launched = {
        "id": "evt_launched",
        "event": "campaign.launched",
        "timestamp": "2024-08-27T09:00:00.000Z",
        "data": {**campaign_clicked["data"]["campaign"], "name": "Summer Referral Push II"},
    }

    response = post_webhook(client, heyoo_endpoint, js_json(launched))

    assert response.status_code == 200
    assert outcome(response)["status"] == "ignored"
    assert Campaign.objects.count() == 1
    assert Click.objects.get().campaign.name == "Summer Referral Push II"
