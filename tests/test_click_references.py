"""A click's references are enforced by Django, not PostgreSQL (``db_constraint=False``, for the
worker's commit): deleting what clicks point to still protects, nulls or cascades as declared."""

import pytest
from django.db.models import ProtectedError

from analytics.models import Campaign, Click, Contact, Delivery, PendingRollup, WebhookEndpoint
from tests.conftest import js_json, payload, post_webhook


@pytest.fixture
def stored_click(client, woodpecker_endpoint) -> Click:
    response = post_webhook(
        client, woodpecker_endpoint, js_json(payload("woodpecker/link_clicked"))
    )
    assert response.status_code == 200
    return Click.objects.get()


def test_a_clicks_campaign_cannot_be_deleted(stored_click):
    with pytest.raises(ProtectedError):
        Campaign.objects.get(pk=stored_click.campaign_id).delete()

    assert Campaign.objects.filter(pk=stored_click.campaign_id).exists()


def test_a_clicks_recipient_cannot_be_deleted(stored_click):
    with pytest.raises(ProtectedError):
        Contact.objects.get(pk=stored_click.recipient_id).delete()

    assert Contact.objects.filter(pk=stored_click.recipient_id).exists()


def test_an_endpoint_with_clicks_cannot_be_deleted(stored_click):
    with pytest.raises(ProtectedError):
        WebhookEndpoint.objects.get(pk=stored_click.endpoint_id).delete()


def test_deleting_a_delivery_keeps_its_clicks_without_it(stored_click):
    Delivery.objects.filter(pk=stored_click.delivery_id).delete()

    stored_click.refresh_from_db()
    assert stored_click.delivery_id is None


def test_deleting_a_click_deletes_its_pending_rollup(stored_click):
    assert PendingRollup.objects.filter(click_id=stored_click.pk).exists()

    stored_click.delete()

    assert not PendingRollup.objects.exists()
