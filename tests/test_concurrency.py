"""Concurrent deliveries: the database, not a prior read, decides what is new.

Each request runs in its own thread with its own connection, released at a barrier so both reach
the database together (and meet again inside their write transactions); the tests are
transactional so each thread sees the others' commits.
"""

import copy
import threading

import pytest
from django.db import connection
from django.test import Client

from analytics import intake
from analytics.models import Campaign, Click, Delivery, Link, WebhookEndpoint
from tests.conftest import js_json, payload, post_webhook

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def post_at_once(monkeypatch):
    """POST each body from its own thread, all released together; the responses in order.

    The deliveries also meet at the start of their write transaction: neither has written
    anything yet, so no lock is held while waiting, and afterwards both write at once, leaving
    the unique constraints to settle whichever comes second.
    """
    in_transaction: list[threading.Barrier] = []
    store = intake._store

    def store_together(*args, **kwargs):
        if in_transaction:
            in_transaction[0].wait(timeout=30)
        return store(*args, **kwargs)

    monkeypatch.setattr(intake, "_store", store_together)

    def post(endpoint: WebhookEndpoint, bodies: list[bytes]) -> list:
        at_start = threading.Barrier(len(bodies))
        in_transaction[:] = [threading.Barrier(len(bodies))]
        responses: list = [None] * len(bodies)
        errors: list[BaseException] = []

        def deliver(index: int, body: bytes) -> None:
            try:
                client = Client()
                at_start.wait(timeout=30)
                responses[index] = post_webhook(client, endpoint, body)
            except BaseException as exc:
                errors.append(exc)
                at_start.abort()
                in_transaction[0].abort()
            finally:
                connection.close()

        threads = [
            threading.Thread(target=deliver, args=(index, body))
            for index, body in enumerate(bodies)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        in_transaction.clear()
        assert not any(thread.is_alive() for thread in threads), "a delivery never finished"
        if errors:
            raise errors[0]
        return responses

    return post


def assert_one_click_from_two_deliveries(responses: list) -> None:
    assert [response.status_code for response in responses] == [200, 200]
    assert sorted(response.json()["status"] for response in responses) == [
        "duplicate",
        "processed",
    ]
    assert sum(response.json()["clicks_created"] for response in responses) == 1
    assert Click.objects.count() == 1
    assert Delivery.objects.count() == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {
        Delivery.Status.PROCESSED,
        Delivery.Status.DUPLICATE,
    }
    processed = Delivery.objects.get(status=Delivery.Status.PROCESSED)
    assert Click.objects.get().delivery == processed


def test_two_concurrent_copies_of_a_dub_click_create_one_click(dub_endpoint, post_at_once):
    body = js_json(payload("dub_link_clicked"))

    responses = post_at_once(dub_endpoint, [body, body])

    assert_one_click_from_two_deliveries(responses)
    assert Click.objects.get().is_unique is True


def test_two_concurrent_copies_of_a_woodpecker_click_create_one_click(
    woodpecker_endpoint, post_at_once
):
    body = js_json(payload("woodpecker_link_clicked"))

    responses = post_at_once(woodpecker_endpoint, [body, body])

    assert_one_click_from_two_deliveries(responses)
    click = Click.objects.get()
    assert click.recipient.email == "erlich@bachmanity.com"
    assert click.is_unique is True


def test_two_concurrent_first_clicks_of_a_new_dub_campaign_share_one_campaign(
    dub_endpoint, post_at_once
):
    first = payload("dub_link_clicked")
    first["data"]["link"]["utm_campaign"] = "spring-sale"
    second = copy.deepcopy(first)
    second["data"]["click"]["id"] = "zZ9second0click"
    second["data"]["click"]["timestamp"] = "2025-02-03T09:36:01.000Z"

    responses = post_at_once(dub_endpoint, [js_json(first), js_json(second)])

    assert [response.status_code for response in responses] == [200, 200]
    assert [response.json()["clicks_created"] for response in responses] == [1, 1]
    assert Campaign.objects.filter(sender="dub", external_id="spring-sale").count() == 1
    assert Link.objects.count() == 1
    clicks = list(Click.objects.all())
    assert {click.campaign.external_id for click in clicks} == {"spring-sale"}
    assert len({click.link_id for click in clicks}) == 1
    assert sorted(click.is_unique for click in clicks) == [False, True]


def test_two_concurrent_dub_clicks_by_one_visitor_in_a_known_campaign_count_once(
    dub_endpoint, post_at_once
):
    # Another visitor's click first, so campaign and link exist and nothing locks them: only the
    # uniqueness decision itself can order the two clicks.
    known = payload("dub_link_clicked")
    known["data"]["link"]["utm_campaign"] = "spring-sale"
    known["data"]["click"].update(id="aA1earlier0click", ip="198.51.100.23")
    assert post_webhook(Client(), dub_endpoint, js_json(known)).status_code == 200
    first = copy.deepcopy(known)
    first["data"]["click"].update(id="bB2first0click", ip="52.234.41.119")
    second = copy.deepcopy(first)
    second["data"]["click"].update(id="cC3second0click", timestamp="2025-02-03T09:36:01.000Z")

    responses = post_at_once(dub_endpoint, [js_json(first), js_json(second)])

    assert [response.status_code for response in responses] == [200, 200]
    assert [response.json()["clicks_created"] for response in responses] == [1, 1]
    raced = Click.objects.filter(ip="52.234.41.0")
    assert raced.count() == 2
    assert len({click.campaign_id for click in raced}) == 1
    assert sorted(click.is_unique for click in raced) == [False, True]
    assert Click.objects.get(external_id="aA1earlier0click").is_unique is True


def test_two_concurrent_woodpecker_clicks_by_one_prospect_in_one_campaign_count_once(
    woodpecker_endpoint, post_at_once
):
    (first,) = payload("woodpecker_link_clicked")
    # The campaign is known from another prospect, the prospect from another campaign.
    colleague = copy.deepcopy(first)
    colleague["prospect"].update(id=555, email="jared@bachmanity.com", first_name="Jared")
    earlier_campaign = copy.deepcopy(first)
    earlier_campaign["prospect"].update(campaign_id=999, campaign_name="Older campaign")
    for event in (colleague, earlier_campaign):
        response = post_webhook(Client(), woodpecker_endpoint, js_json([event]))
        assert response.json()["clicks_created"] == 1
    second = copy.deepcopy(first)
    second["click_url"] = "https://google.com/pricing"
    second["timestamp"] = "2025-03-21T20:49:02+0100"

    responses = post_at_once(woodpecker_endpoint, [js_json([first]), js_json([second])])

    assert [response.status_code for response in responses] == [200, 200]
    assert [response.json()["status"] for response in responses] == ["processed", "processed"]
    raced = Click.objects.filter(
        recipient__email="erlich@bachmanity.com", campaign__external_id="123456"
    )
    assert raced.count() == 2
    assert sorted(click.is_unique for click in raced) == [False, True]
