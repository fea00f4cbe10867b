"""Concurrency: acceptance runs fully in parallel; processing is serialized by its advisory lock.

Each request or worker runs in its own thread with its own connection, released at a barrier so
they reach the database together; the tests are transactional so each thread sees the others'
commits. Concurrent copies of a click are all accepted, and processing stores the click once and
counts its visitor once, whichever worker and batch brings each copy.
"""

import copy
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client

from analytics import intake, intake_rows
from analytics.models import Campaign, Click, Delivery, FirstClick, Link, WebhookEndpoint
from tests.conftest import accepted, js_json, payload, post_webhook, process_queue

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*calls: Callable[[], object]) -> list:
    """Run each call in its own thread (its own connection), all released together; their
    results in order."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            start.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:
            errors.append(exc)
            start.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    if errors:
        raise errors[0]
    return results


def post_at_once(endpoint: WebhookEndpoint, bodies: list[bytes]) -> list:
    """POST each body from its own thread, all at once, as the web processes accept them."""
    responses = at_once(
        *(
            lambda body=body: post_webhook(Client(), endpoint, body, process=False)
            for body in bodies
        )
    )
    assert [response.status_code for response in responses] == [200] * len(bodies)
    pks = [response.json()["delivery"] for response in responses]
    assert [response.json() for response in responses] == [accepted(pk) for pk in pks]
    assert len(set(pks)) == len(bodies)
    queued = Delivery.objects.filter(pk__in=pks, status=Delivery.Status.RECEIVED)
    assert queued.count() == len(bodies)
    return responses


def _wait_for_a_waiting_worker() -> None:
    """Return once another connection waits for an advisory lock (the processing lock)."""
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "no other worker waited for the processing lock"
            time.sleep(0.01)


@pytest.fixture
def workers_at_once(monkeypatch):
    """Run ``intake.process_queued(limit)`` in several threads at once; their outcomes.

    The first worker to write holds on, inside the lock, until another worker is seen waiting
    for it: the workers really overlap, and without the lock this would never happen (the test
    then fails rather than passing by luck of timing).
    """
    held = threading.Event()
    unserialized: list[AssertionError] = []
    store = intake_rows.store

    def store_while_another_waits(parsed):
        if not held.is_set():
            held.set()
            try:
                _wait_for_a_waiting_worker()
            except AssertionError as exc:
                unserialized.append(exc)  # processing would record it as a failed delivery
                raise
        return store(parsed)

    def run(count: int, limit: int) -> list[intake.Outcome]:
        held.clear()
        with monkeypatch.context() as patch:
            patch.setattr(intake_rows, "store", store_while_another_waits)
            outcomes = at_once(*(lambda: intake.process_queued(limit) for _ in range(count)))
        assert not unserialized, unserialized[0]
        return outcomes

    return run


def assert_each_delivery_processed_once(outcomes: list[intake.Outcome]) -> None:
    assert sum(outcome.total for outcome in outcomes) == Delivery.objects.count()
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    assert not Delivery.objects.filter(status=Delivery.Status.RECEIVED).exists()


def assert_one_click_from(deliveries: int, outcomes: list[intake.Outcome]) -> Click:
    assert_each_delivery_processed_once(outcomes)
    assert sum(outcome.clicks_created for outcome in outcomes) == 1
    click = Click.objects.get()
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses == ["duplicate"] * (deliveries - 1) + ["processed"]
    assert click.delivery == Delivery.objects.get(status=Delivery.Status.PROCESSED)
    assert click.is_unique is True
    assert FirstClick.objects.count() == 1
    return click


# --- copies of one click ------------------------------------------------------------------------


def test_concurrent_copies_of_a_dub_click_are_all_accepted_and_stored_once(
    dub_endpoint, workers_at_once
):
    body = js_json(payload("dub/link_clicked_real"))

    post_at_once(dub_endpoint, [body] * 4)
    assert not Click.objects.exists()  # accepting never processes
    outcomes = workers_at_once(2, limit=2)  # two workers, each taking a batch of two

    assert sorted(outcome.total for outcome in outcomes) == [2, 2]
    assert_one_click_from(4, outcomes)


def test_concurrent_copies_of_a_woodpecker_click_are_all_accepted_and_stored_once(
    woodpecker_endpoint,
):
    body = js_json(payload("woodpecker/link_clicked"))

    post_at_once(woodpecker_endpoint, [body] * 3)
    outcomes = [intake.process_queued(1) for _ in range(3)]  # a batch each

    click = assert_one_click_from(3, outcomes)
    assert click.recipient.email == "erlich@bachmanity.com"


def test_two_workers_at_once_process_each_queued_delivery_once(dub_endpoint, workers_at_once):
    bodies = []
    for n in range(6):
        event = payload("dub/link_clicked_real")
        event["data"]["click"].update(id=f"click-{n % 3}", ip=f"198.51.100.{n % 3}")
        bodies.append(js_json(event))
    for body in bodies:
        assert post_webhook(Client(), dub_endpoint, body, process=False).status_code == 200

    outcomes = workers_at_once(2, limit=100)

    # The second worker took the lock after the first committed: nothing was left for it.
    assert sorted(outcome.total for outcome in outcomes) == [0, 6]
    assert_each_delivery_processed_once(outcomes)
    assert sum(outcome.clicks_created for outcome in outcomes) == 3
    assert sorted(Click.objects.values_list("click_key", flat=True)) == [
        "click-0",
        "click-1",
        "click-2",
    ]
    assert Click.objects.filter(is_unique=True).count() == 3  # three visitors
    assert (
        sorted(Delivery.objects.values_list("status", flat=True))
        == ["duplicate"] * 3 + ["processed"] * 3
    )


# --- different clicks sharing rows --------------------------------------------------------------


def test_two_concurrent_first_clicks_of_a_new_dub_campaign_share_one_campaign(
    dub_endpoint, workers_at_once
):
    first = payload("dub/link_clicked_real")
    first["data"]["link"]["utm_campaign"] = "spring-sale"
    second = copy.deepcopy(first)
    second["data"]["click"]["id"] = "zZ9second0click"
    second["data"]["click"]["timestamp"] = "2025-02-03T09:36:01.000Z"

    post_at_once(dub_endpoint, [js_json(first), js_json(second)])
    outcomes = workers_at_once(2, limit=1)  # each worker takes one of the two

    assert [outcome.clicks_created for outcome in outcomes] == [1, 1]
    assert_each_delivery_processed_once(outcomes)
    assert Campaign.objects.filter(sender="dub", external_id="spring-sale").count() == 1
    assert Link.objects.count() == 1
    clicks = list(Click.objects.all())
    assert {click.campaign.external_id for click in clicks} == {"spring-sale"}
    assert len({click.link_id for click in clicks}) == 1
    assert sorted(click.is_unique for click in clicks) == [False, True]


def test_two_concurrent_dub_clicks_by_one_visitor_in_a_known_campaign_count_once(
    dub_endpoint, workers_at_once
):
    # Another visitor's click first, so campaign and link exist: only the uniqueness decision
    # itself can order the two clicks.
    known = payload("dub/link_clicked_real")
    known["data"]["link"]["utm_campaign"] = "spring-sale"
    known["data"]["click"].update(id="aA1earlier0click", ip="198.51.100.23")
    assert post_webhook(Client(), dub_endpoint, js_json(known)).status_code == 200
    first = copy.deepcopy(known)
    first["data"]["click"].update(id="bB2first0click", ip="52.234.41.119")
    second = copy.deepcopy(first)
    second["data"]["click"].update(id="cC3second0click", timestamp="2025-02-03T09:36:01.000Z")

    post_at_once(dub_endpoint, [js_json(first), js_json(second)])
    outcomes = workers_at_once(2, limit=1)

    assert [outcome.clicks_created for outcome in outcomes] == [1, 1]
    raced = Click.objects.filter(ip="52.234.41.0")
    assert raced.count() == 2
    assert len({click.campaign_id for click in raced}) == 1
    assert sorted(click.is_unique for click in raced) == [False, True]
    assert Click.objects.get(external_id="aA1earlier0click").is_unique is True


def test_two_concurrent_woodpecker_clicks_by_one_prospect_in_one_campaign_count_once(
    woodpecker_endpoint,
):
    (first,) = payload("woodpecker/link_clicked")
    # The campaign is known from another prospect, the prospect from another campaign.
    colleague = copy.deepcopy(first)
    colleague["prospect"].update(id=555, email="jared@bachmanity.com", first_name="Jared")
    earlier_campaign = copy.deepcopy(first)
    earlier_campaign["prospect"].update(campaign_id=999, campaign_name="Older campaign")
    for event in (colleague, earlier_campaign):
        assert post_webhook(Client(), woodpecker_endpoint, js_json([event])).status_code == 200
    assert Click.objects.count() == 2
    second = copy.deepcopy(first)
    second["click_url"] = "https://google.com/pricing"
    second["timestamp"] = "2025-03-21T20:49:02+0100"

    responses = post_at_once(woodpecker_endpoint, [js_json([first]), js_json([second])])
    process_queue()

    assert [Delivery.objects.get(pk=r.json()["delivery"]).status for r in responses] == [
        "processed",
        "processed",
    ]
    raced = Click.objects.filter(
        recipient__email="erlich@bachmanity.com", campaign__external_id="123456"
    )
    assert raced.count() == 2
    assert sorted(click.is_unique for click in raced) == [False, True]
