import copy
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.models import Campaign, Click, Contact, Delivery
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
def campaign_clicked() -> dict:
    return payload("heyoo/campaign_clicked")


def _campaign_created() -> dict:
    """campaign.created as documented: the campaign object is the whole of ``data``."""
    return {
        "id": "evt_created",
        "event": "campaign.created",
        "timestamp": "2024-08-26T16:41:52.346Z",
        "data": {
            "id": "cm11q3oxr0000a...",
            "name": "Acme Fall 2024",
            "shareContext": "Check out this amazing opportunity!",
            "objective": "increase_awareness",
            "description": "Fall awareness campaign",
            "domain": "acme.heyoo.ai",
            "destinationUrl": "https://acme.com",
            "utm_source": "heyoo",
            "utm_medium": "referral",
            "utm_campaign": "fall_2024",
            "utm_term": None,
            "clicks": 0,
            "shares": 0,
            "status": "draft",
            "workspaceSlug": "acme",
            "createdAt": "2024-08-26T16:40:00.000Z",
        },
    }


def _campaign_shared(campaign: dict) -> dict:
    return {
        "id": "evt_shared",
        "event": "campaign.shared",
        "timestamp": "2024-08-26T16:41:52.346Z",
        "data": {
            "share": {
                "id": "shr_...",
                "campaignId": campaign["id"],
                "campaignName": campaign["name"],
                "userId": "usr_...",
                "userName": "John Doe",
                "userEmail": "john@example.com",
                "postUrl": "https://linkedin.com/posts/...",
                "platform": "linkedin",
                "timestamp": "2024-08-26T16:41:52.346Z",
            },
            "campaign": campaign,
        },
    }


def _post_published() -> dict:
    return {
        "id": "evt_post",
        "event": "post.published",
        "timestamp": "2024-08-26T16:41:52.346Z",
        "data": {
            "post": {
                "id": "post_...",
                "title": "Summer is here",
                "content": "Check out our summer campaign!",
                "type": "social",
            },
            "user": {"id": "usr_...", "name": "John Doe", "email": "john@example.com"},
        },
    }


def _another_click(event: dict, click_id: str, **click_fields: object) -> dict:
    event = copy.deepcopy(event)
    event["data"]["click"].update(id=click_id, **click_fields)
    return event


# --- the documented example --------------------------------------------------------------------


def test_heyoo_campaign_clicked_is_stored_as_one_normalized_click(
    client, heyoo_endpoint, campaign_clicked
):
    body = js_json(campaign_clicked)

    response = post_webhook(client, heyoo_endpoint, body)

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == accepted(delivery.pk)
    assert outcome(response) == summary(delivery.pk, "processed", created=1)
    click = Click.objects.get()
    assert click.sender == "heyoo"
    assert click.endpoint == heyoo_endpoint
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

    assert click.delivery == delivery
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.event_type == "campaign.clicked"
    assert bytes(delivery.body) == body


def test_heyoo_masks_the_signature_in_stored_headers(client, heyoo_endpoint, campaign_clicked):
    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))

    headers = Delivery.objects.get().headers
    assert headers["Heyoo-Signature"] == "[masked]"


# --- authentication ----------------------------------------------------------------------------


def test_heyoo_rejects_wrong_token(client, heyoo_endpoint, campaign_clicked):
    response = client.post(
        "/webhooks/heyoo/not-the-token/", js_json(campaign_clicked), content_type="application/json"
    )

    assert response.status_code == 404
    assert "error" in response.json()
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_heyoo_rejects_a_dub_endpoint_token(client, dub_endpoint, campaign_clicked):
    response = client.post(
        f"/webhooks/heyoo/{dub_endpoint.token}/",
        js_json(campaign_clicked),
        content_type="application/json",
    )

    assert response.status_code == 404
    assert not Delivery.objects.exists()


def test_heyoo_rejects_wrong_signature(client, heyoo_endpoint, campaign_clicked):
    response = post_webhook(
        client, heyoo_endpoint, js_json(campaign_clicked), **{"Heyoo-Signature": "0" * 64}
    )

    assert response.status_code == 401
    assert "Heyoo-Signature" in response.json()["error"]
    assert not Delivery.objects.exists()
    assert not Click.objects.exists()


def test_heyoo_rejects_missing_signature(client, heyoo_endpoint, campaign_clicked):
    response = client.post(
        heyoo_endpoint.get_absolute_url(),
        js_json(campaign_clicked),
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response.json()["error"] == "Missing Heyoo-Signature header."
    assert not Delivery.objects.exists()


def test_heyoo_rejects_a_valid_signature_sent_in_dubs_header(
    client, heyoo_endpoint, campaign_clicked
):
    from analytics.senders.spec import sign

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


def test_heyoo_rejects_a_body_altered_after_signing(client, heyoo_endpoint, campaign_clicked):
    from analytics.senders.spec import sign

    signature = sign(heyoo_endpoint.secret, js_json(campaign_clicked))
    campaign_clicked["data"]["click"]["country"] = "FR"

    response = post_webhook(
        client, heyoo_endpoint, js_json(campaign_clicked), **{"Heyoo-Signature": signature}
    )

    assert response.status_code == 401
    assert not Delivery.objects.exists()


# --- redelivery --------------------------------------------------------------------------------


def test_heyoo_redelivery_creates_no_second_click(client, heyoo_endpoint, campaign_clicked):
    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))
    response = post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))

    assert response.status_code == 200
    assert outcome(response) == summary(Delivery.objects.latest("pk").pk, "duplicate", duplicates=1)
    assert Click.objects.count() == 1
    assert Delivery.objects.count() == 2
    assert Delivery.objects.latest("pk").status == Delivery.Status.DUPLICATE
    assert Click.objects.get().delivery == Delivery.objects.earliest("pk")


# --- events that are not clicks ----------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        _campaign_shared(payload("heyoo/campaign_clicked")["data"]["campaign"]),
        _post_published(),
    ],
    ids=["campaign.shared", "post.published"],
)
def test_heyoo_non_click_events_are_kept_and_ignored(client, heyoo_endpoint, event):
    response = post_webhook(client, heyoo_endpoint, js_json(event))

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert outcome(response) == summary(delivery.pk, "ignored", ignored=1)
    assert delivery.status == Delivery.Status.IGNORED
    assert delivery.event_type == event["event"]
    assert not Click.objects.exists()
    assert not Contact.objects.exists()


def test_heyoo_campaign_shared_records_its_campaign(client, heyoo_endpoint, campaign_clicked):
    event = _campaign_shared(campaign_clicked["data"]["campaign"])

    post_webhook(client, heyoo_endpoint, js_json(event))

    campaign = Campaign.objects.get()
    assert (campaign.sender, campaign.external_id, campaign.name) == (
        "heyoo",
        "cm11...",
        "Summer Referral Push",
    )


def test_heyoo_post_published_creates_no_campaign(client, heyoo_endpoint):
    post_webhook(client, heyoo_endpoint, js_json(_post_published()))

    assert not Campaign.objects.exists()


def test_heyoo_campaign_created_upserts_the_campaign_name(client, heyoo_endpoint):
    created = _campaign_created()

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


# --- bodies that do not fit --------------------------------------------------------------------


def test_heyoo_rejects_malformed_json_and_keeps_the_delivery(client, heyoo_endpoint):
    body = b'{"id": "evt_...", "event": "campaign.clicked", "data": {'

    response = post_webhook(client, heyoo_endpoint, body)

    error = assert_kept_as_failed(response, body)
    assert error.startswith("The body is not valid JSON")
    assert not Click.objects.exists()


def _without_click_id(event: dict) -> str:
    del event["data"]["click"]["id"]
    return "data.click.id must be a string, got nothing."


def _timestamp_not_a_date(event: dict) -> str:
    event["data"]["click"]["timestamp"] = "yesterday"
    return "data.click.timestamp is not an ISO 8601 timestamp: 'yesterday'."


def _without_click_timestamp(event: dict) -> str:
    del event["data"]["click"]["timestamp"]
    return "data.click.timestamp must be an ISO 8601 timestamp string, got nothing."


def _click_is_an_array(event: dict) -> str:
    event["data"]["click"] = [event["data"]["click"]]
    return "data.click must be an object, got an array."


def _without_campaign(event: dict) -> str:
    del event["data"]["campaign"]
    return "data.campaign must be an object, got nothing."


def _without_campaign_id(event: dict) -> str:
    del event["data"]["campaign"]["id"]
    return "data.campaign.id must be a string, got nothing."


@pytest.mark.parametrize(
    "break_payload",
    [
        _without_click_id,
        _timestamp_not_a_date,
        _without_click_timestamp,
        _click_is_an_array,
        _without_campaign,
        _without_campaign_id,
    ],
)
def test_heyoo_rejects_a_click_of_the_wrong_shape_naming_the_field(
    client, heyoo_endpoint, campaign_clicked, break_payload
):
    expected_error = break_payload(campaign_clicked)
    body = js_json(campaign_clicked)

    response = post_webhook(client, heyoo_endpoint, body)

    assert assert_failed_in_processing(response, body) == expected_error
    assert not Click.objects.exists()


def test_heyoo_rejects_a_json_array_body(client, heyoo_endpoint, campaign_clicked):
    body = js_json([campaign_clicked])

    response = post_webhook(client, heyoo_endpoint, body)

    assert "JSON object" in assert_kept_as_failed(response, body)
    assert not Click.objects.exists()


# --- reprocessing ------------------------------------------------------------------------------


def test_heyoo_failed_delivery_is_reprocessed_after_its_body_is_repaired(
    client, heyoo_endpoint, campaign_clicked
):
    broken = copy.deepcopy(campaign_clicked)
    broken["data"]["click"]["timestamp"] = "yesterday"
    response = post_webhook(client, heyoo_endpoint, js_json(broken))
    assert_failed_in_processing(response, js_json(broken))
    delivery = Delivery.objects.get()

    # An admin repairs the stored body.
    Delivery.objects.filter(pk=delivery.pk).update(body=js_json(campaign_clicked))
    out = StringIO()
    call_command("reprocess_deliveries", stdout=out, stderr=StringIO())

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED
    assert delivery.error == ""
    assert delivery.clicks_created == 1
    assert delivery.attempts == 2
    click = Click.objects.get()
    assert click.external_id == "clk_..."
    assert click.delivery == delivery
    assert click.occurred_at.isoformat() == "2024-08-26T16:41:52.346000+00:00"
    assert "1 processed" in out.getvalue()

    out = StringIO()
    call_command("reprocess_deliveries", stdout=out, stderr=StringIO())

    assert "none matched" in out.getvalue()
    assert Click.objects.count() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PROCESSED

    call_command("reprocess_deliveries", "--id", str(delivery.pk), stdout=StringIO())

    assert Click.objects.count() == 1
    delivery.refresh_from_db()
    assert (delivery.clicks_created, delivery.duplicates) == (0, 1)


def test_heyoo_reprocess_leaves_an_unrepaired_delivery_failed(
    client, heyoo_endpoint, campaign_clicked
):
    del campaign_clicked["data"]["click"]["id"]
    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))

    err = StringIO()
    call_command("reprocess_deliveries", stdout=StringIO(), stderr=err)

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.error == "data.click.id must be a string, got nothing."
    assert delivery.attempts == 2
    assert "data.click.id" in err.getvalue()
    assert not Click.objects.exists()


# --- unique visitors ---------------------------------------------------------------------------


def test_heyoo_second_click_from_same_ip_in_same_campaign_is_not_unique(
    client, heyoo_endpoint, campaign_clicked
):
    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))
    again = _another_click(campaign_clicked, "clk_again", timestamp="2024-08-26T17:00:00.000Z")

    response = post_webhook(client, heyoo_endpoint, js_json(again))

    assert outcome(response)["clicks_created"] == 1
    assert Click.objects.get(external_id="clk_...").is_unique is True
    assert Click.objects.get(external_id="clk_again").is_unique is False


def test_heyoo_same_ip_in_another_campaign_is_unique_again(
    client, heyoo_endpoint, campaign_clicked
):
    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))
    other = _another_click(campaign_clicked, "clk_other_campaign")
    other["data"]["campaign"].update(id="cm22...", name="Winter Push")

    post_webhook(client, heyoo_endpoint, js_json(other))

    click = Click.objects.get(external_id="clk_other_campaign")
    assert click.campaign.external_id == "cm22..."
    assert click.is_unique is True


def test_heyoo_clicks_from_different_ips_on_one_sharers_post_are_each_unique(
    client, heyoo_endpoint, campaign_clicked
):
    post_webhook(client, heyoo_endpoint, js_json(campaign_clicked))
    other_visitor = _another_click(campaign_clicked, "clk_other_ip", ip="203.0.113.7")

    post_webhook(client, heyoo_endpoint, js_json(other_visitor))

    assert list(Click.objects.order_by("pk").values_list("is_unique", flat=True)) == [True, True]
    assert Contact.objects.count() == 1
