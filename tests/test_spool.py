"""PostgreSQL away: authenticated deliveries go to the local spool, answered 200, and move into
PostgreSQL once it answers again, each exactly once."""

import sqlite3

import pytest
from django.db import OperationalError

from analytics import acceptance, spool
from analytics.models import Click, Delivery
from tests.conftest import js_json, payload, post_webhook, process_queue


def dub_click(click_id: str) -> bytes:
    body = payload("dub/link_clicked_real")
    body["data"]["click"]["id"] = click_id
    return js_json(body)


def _insert_fails(deliveries, *, spooled=True):
    raise OperationalError('connection to server on socket "/tmp/.s.PGSQL.5432" failed')


@pytest.fixture
def database_down(monkeypatch):
    """Every delivery insert fails as it does when PostgreSQL has stopped."""
    monkeypatch.setattr(acceptance, "insert_deliveries", _insert_fails)
    return monkeypatch


def test_delivery_is_spooled_and_answered_200_while_the_database_is_down(
    client, dub_endpoint, database_down
):
    body = dub_click("spooled-1")

    response = post_webhook(client, dub_endpoint, body, process=False)

    assert response.status_code == 200
    assert response.json()["status"] == "spooled"
    assert response.json()["delivery"] is None
    assert Delivery.objects.count() == 0
    (kept,) = spool.oldest(10)
    assert str(kept.spool_id) == response.json()["spool_id"]
    assert (kept.endpoint_id, kept.body, kept.status) == (dub_endpoint.pk, body, "received")
    assert kept.headers["Dub-Signature"] == "[masked]"


def test_spooled_delivery_is_on_disk_for_another_process(client, dub_endpoint, database_down):
    post_webhook(client, dub_endpoint, dub_click("spooled-2"), process=False)

    # A connection of its own, as another web process or the worker would open.
    with sqlite3.connect(spool_path()) as other:
        assert other.execute("SELECT count(*) FROM delivery").fetchone() == (1,)


def test_replay_moves_each_spooled_delivery_into_postgresql_once(client, dub_endpoint, monkeypatch):
    with monkeypatch.context() as down:
        down.setattr(acceptance, "insert_deliveries", _insert_fails)
        answers = [
            post_webhook(client, dub_endpoint, dub_click(f"outage-{n}"), process=False).json()
            for n in range(3)
        ]

    assert acceptance.replay_spool() == 3
    assert acceptance.replay_spool() == 0

    assert spool.pending() == 0
    stored = Delivery.objects.order_by("pk")
    assert [str(d.spool_id) for d in stored] == [answer["spool_id"] for answer in answers]
    assert {d.status for d in stored} == {"received"}
    process_queue()
    assert sorted(Click.objects.values_list("click_key", flat=True)) == [
        "outage-0",
        "outage-1",
        "outage-2",
    ]


def test_replay_cut_short_after_its_commit_stores_nothing_twice(client, dub_endpoint, monkeypatch):
    with monkeypatch.context() as down:
        down.setattr(acceptance, "insert_deliveries", _insert_fails)
        for n in range(2):
            post_webhook(client, dub_endpoint, dub_click(f"crash-{n}"), process=False)

    # The worker dies between PostgreSQL's commit and the spool's delete.
    with monkeypatch.context() as crash:
        crash.setattr(spool, "delete", _killed)
        with pytest.raises(SystemExit):
            acceptance.replay_spool()
    assert Delivery.objects.count() == 2
    assert spool.pending() == 2

    assert acceptance.replay_spool() == 2  # read again, inserted as nothing new, then deleted

    assert Delivery.objects.count() == 2
    assert spool.pending() == 0


def _killed(spool_ids):
    raise SystemExit("kill -9")


def test_replay_while_the_database_is_still_down_keeps_the_spool(
    client, dub_endpoint, database_down
):
    post_webhook(client, dub_endpoint, dub_click("still-down"), process=False)

    with pytest.raises(OperationalError):
        acceptance.replay_spool()

    assert spool.pending() == 1


def test_unwritable_spool_answers_503_while_the_database_is_down(
    client, dub_endpoint, database_down, settings, tmp_path
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the spool's directory should be")
    settings.WEBHOOK_SPOOL_PATH = blocker / "deliveries.sqlite3"
    spool.close()

    response = post_webhook(client, dub_endpoint, dub_click("nowhere"), process=False)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "cannot store deliveries" in response.json()["error"]


def test_a_restarted_web_process_authenticates_from_the_snapshot_while_the_database_is_down(
    client, dub_endpoint, monkeypatch
):
    # A first request reads the endpoints from PostgreSQL and keeps a snapshot in the spool.
    assert post_webhook(client, dub_endpoint, dub_click("before"), process=False).status_code == 200
    acceptance.forget_endpoints()  # a new process: nothing in memory
    monkeypatch.setattr(acceptance, "_database_may_answer", lambda: False)

    response = post_webhook(client, dub_endpoint, dub_click("during"), process=False)
    wrong = post_webhook(
        client, dub_endpoint, dub_click("forged"), process=False, **{"Dub-Signature": "0" * 64}
    )

    assert response.status_code == 200
    assert response.json()["status"] == "spooled"
    assert wrong.status_code == 401
    assert spool.pending() == 1


def test_without_any_snapshot_a_cold_start_during_an_outage_answers_503(
    client, dub_endpoint, monkeypatch
):
    acceptance.forget_endpoints()
    monkeypatch.setattr(acceptance, "_database_may_answer", lambda: False)

    response = post_webhook(client, dub_endpoint, dub_click("unknown"), process=False)

    assert response.status_code == 503
    assert spool.pending() == 0


def test_after_a_failure_deliveries_go_straight_to_the_spool_for_a_while(
    client, dub_endpoint, monkeypatch
):
    attempts = []

    def failing(deliveries, *, spooled=True):
        attempts.append(len(deliveries))
        return _insert_fails(deliveries)

    post_webhook(client, dub_endpoint, dub_click("warm-cache"), process=False)
    monkeypatch.setattr(acceptance, "insert_deliveries", failing)

    for n in range(5):
        response = post_webhook(client, dub_endpoint, dub_click(f"burst-{n}"), process=False)
        assert response.json()["status"] == "spooled"

    assert attempts == [1]  # one failed attempt, then the spool until the retry time
    assert spool.pending() == 5


def test_a_spooled_click_redelivered_after_recovery_is_counted_once(
    client, dub_endpoint, monkeypatch
):
    body = dub_click("retried-by-dub")
    with monkeypatch.context() as down:
        down.setattr(acceptance, "insert_deliveries", _insert_fails)
        post_webhook(client, dub_endpoint, body, process=False)
    acceptance.forget_endpoints()  # the outage is over: PostgreSQL is tried again

    post_webhook(client, dub_endpoint, body)  # the sender retried anyway
    acceptance.replay_spool()
    process_queue()

    assert Click.objects.filter(click_key="retried-by-dub").count() == 1
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "processed"]


def spool_path():
    from django.conf import settings

    return settings.WEBHOOK_SPOOL_PATH


def test_an_endpoint_created_elsewhere_answers_its_first_delivery(client, dub_endpoint):
    from analytics.models import Sender, WebhookEndpoint

    post_webhook(client, dub_endpoint, dub_click("warm"), process=False)
    # Created by another process (the admin): no signal reaches this one's copy.
    WebhookEndpoint.objects.bulk_create([WebhookEndpoint(sender=Sender.WOODPECKER, name="New")])
    new = WebhookEndpoint.objects.get(name="New")
    acceptance._cache.loaded_at -= 2  # this process's copy is two seconds old

    response = post_webhook(client, new, js_json(payload("woodpecker/link_clicked")), process=False)

    assert response.status_code == 200
