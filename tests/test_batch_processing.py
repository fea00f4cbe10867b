"""The processing worker: queued deliveries become clicks in batches, idempotently, and one bad
delivery never holds up the others."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DataError, OperationalError

from analytics import acceptance, intake, intake_rows, spool
from analytics.models import Click, Delivery, PendingRollup
from tests.conftest import js_json, payload, post_webhook


def dub_click(click_id: str, *, ip: str = "203.0.113.9", at: str = "2025-02-03T09:35:57.926Z"):
    body = payload("dub/link_clicked_docs")
    body["data"]["click"].update(id=click_id, ip=ip, timestamp=at)
    return js_json(body)


def dub_without_timestamp() -> bytes:
    body = payload("dub/link_clicked_docs")
    del body["data"]["click"]["timestamp"]
    return js_json(body)


def queue(client, endpoint, *bodies: bytes) -> list[Delivery]:
    """Accept each body as the webhook view does, leaving it for the worker."""
    for body in bodies:
        assert post_webhook(client, endpoint, body, process=False).status_code == 200
    return list(Delivery.objects.order_by("pk"))


def outcomes() -> list[tuple[str, int, int]]:
    return list(
        Delivery.objects.order_by("pk").values_list("status", "clicks_created", "duplicates")
    )


def test_accepted_deliveries_wait_queued_until_processed(client, dub_endpoint):
    response = post_webhook(client, dub_endpoint, dub_click("c1"), process=False)

    assert response.json() == {"delivery": Delivery.objects.get().pk, "status": "received"}
    assert Click.objects.count() == 0

    result = intake.process_queued(100)

    assert (result.total, result.clicks_created, result.failures) == (1, 1, [])
    assert outcomes() == [("processed", 1, 0)]
    delivery = Delivery.objects.get()
    assert delivery.attempts == 1
    assert delivery.processed_at is not None
    assert delivery.click_lag == delivery.received_at - Click.objects.get().occurred_at


def test_copies_of_a_click_within_one_batch_store_it_once(client, dub_endpoint):
    queue(client, dub_endpoint, dub_click("same"), dub_click("same"), dub_click("other"))

    intake.process_queued(100)

    assert outcomes() == [("processed", 1, 0), ("duplicate", 0, 1), ("processed", 1, 0)]
    assert Click.objects.count() == 2


def test_copies_of_a_click_across_batches_store_it_once(client, dub_endpoint):
    queue(client, dub_endpoint, dub_click("same"), dub_click("same"))

    intake.process_queued(1)
    intake.process_queued(1)

    assert outcomes() == [("processed", 1, 0), ("duplicate", 0, 1)]
    assert Click.objects.count() == 1


def test_a_woodpecker_array_repeating_a_click_counts_the_copy(client, woodpecker_endpoint):
    item = payload("woodpecker/link_clicked")[0]
    queue(client, woodpecker_endpoint, js_json([item, item]))

    intake.process_queued(100)

    assert outcomes() == [("processed", 1, 1)]


def test_a_visitor_is_unique_once_per_scope_in_time_order_within_a_batch(client, dub_endpoint):
    # Delivered late first: the earlier click is the visitor's first, whatever the arrival order.
    queue(
        client,
        dub_endpoint,
        dub_click("later", at="2025-02-03T10:00:00.000Z"),
        dub_click("earlier", at="2025-02-03T09:00:00.000Z"),
        dub_click("someone-else", ip="198.51.100.7", at="2025-02-03T11:00:00.000Z"),
    )

    intake.process_queued(100)

    unique = dict(Click.objects.values_list("click_key", "is_unique"))
    assert unique == {"earlier": True, "later": False, "someone-else": True}


def test_a_visitor_seen_in_an_earlier_batch_is_not_unique_again(client, dub_endpoint):
    queue(client, dub_endpoint, dub_click("first"))
    intake.process_queued(100)
    queue(client, dub_endpoint, dub_click("second"))

    intake.process_queued(100)

    assert dict(Click.objects.values_list("click_key", "is_unique")) == {
        "first": True,
        "second": False,
    }


def test_a_delivery_that_does_not_parse_fails_alone(client, dub_endpoint):
    queue(client, dub_endpoint, dub_click("a"), dub_without_timestamp(), dub_click("b"))

    result = intake.process_queued(100)

    assert outcomes() == [("processed", 1, 0), ("failed", 0, 0), ("processed", 1, 0)]
    failed = Delivery.objects.get(status="failed")
    assert result.failures == [(failed.pk, failed.error)]
    assert "timestamp" in failed.error


def test_a_delivery_the_database_refuses_fails_alone_and_the_batch_is_stored(
    client, dub_endpoint, monkeypatch
):
    deliveries = queue(client, dub_endpoint, dub_click("a"), dub_click("poison"), dub_click("b"))
    poison = deliveries[1].pk
    store = intake_rows.store

    def refusing(parsed):
        if any(delivery.pk == poison for delivery, _ in parsed):
            raise DataError("value too long for type character varying(2)")
        return store(parsed)

    monkeypatch.setattr(intake_rows, "store", refusing)

    intake.process_queued(100)

    assert outcomes() == [("processed", 1, 0), ("failed", 0, 0), ("processed", 1, 0)]
    assert Delivery.objects.get(pk=poison).error == "value too long for type character varying(2)"
    assert set(Click.objects.values_list("click_key", flat=True)) == {"a", "b"}


def test_an_outage_mid_batch_leaves_every_delivery_queued(client, dub_endpoint, monkeypatch):
    queue(client, dub_endpoint, dub_click("a"), dub_click("b"))

    def outage(parsed):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(intake_rows, "store", outage)

    with pytest.raises(OperationalError):
        intake.process_queued(100)

    assert outcomes() == [("received", 0, 0), ("received", 0, 0)]
    assert Delivery.objects.filter(attempts=0).count() == 2
    assert Click.objects.count() == 0


def test_a_batch_costs_the_same_queries_whatever_its_size(
    client, dub_endpoint, django_assert_num_queries
):
    queue(client, dub_endpoint, dub_click("warm"))
    intake.process_queued(100)  # the link exists from now on, as in steady state
    queue(client, dub_endpoint, dub_click("one"))
    # lock, queue, link SELECT, stored clicks, first clicks, clicks + pending, outcomes; and
    # two savepoints with their releases (the batch's, and the test's transaction's own)
    with django_assert_num_queries(11):
        intake.process_queued(100)

    queue(client, dub_endpoint, *(dub_click(f"many-{n}", ip=f"192.0.2.{n}") for n in range(40)))
    with django_assert_num_queries(11):
        result = intake.process_queued(100)
    assert result.clicks_created == 40


def test_processing_again_finds_only_duplicates(client, dub_endpoint):
    (delivery,) = queue(client, dub_endpoint, dub_click("again"))
    intake.process_queued(100)

    result = intake.process([delivery.pk])

    assert result.deliveries == {"duplicate": 1}
    assert outcomes() == [("duplicate", 0, 1)]
    assert Delivery.objects.get().attempts == 2
    assert Click.objects.count() == 1


def test_run_worker_once_empties_the_spool_and_the_queue_and_rolls_up(
    client, dub_endpoint, monkeypatch
):
    with monkeypatch.context() as down:
        down.setattr(acceptance, "insert_deliveries", _insert_fails)
        post_webhook(client, dub_endpoint, dub_click("spooled"), process=False)
    acceptance.forget_endpoints()
    queue(client, dub_endpoint, dub_click("queued"))
    out = StringIO()

    call_command("run_worker", "--once", stdout=out)

    assert spool.pending() == 0
    assert Delivery.objects.filter(status="received").count() == 0
    assert set(Click.objects.values_list("click_key", flat=True)) == {"spooled", "queued"}
    assert PendingRollup.objects.count() == 0  # added to the rollups
    assert "Moved 1 spooled deliveries" in out.getvalue()


def _insert_fails(deliveries, *, spooled=True):
    raise OperationalError("connection refused")
