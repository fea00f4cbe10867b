"""A page's reads shared with a helper thread: the same snapshot on two connections, the
request's connection alone inside a transaction, and a helper's error is the page's."""

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from analytics import page_reads
from analytics.models import Click

WAIT = 10  # seconds; a read waiting longer than this for the other thread fails the test


def _seen() -> tuple[str, int, int]:
    """This read's thread, backend and count of clicks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return threading.current_thread().name, pid, Click.objects.count()


def _in_another_connection(work) -> None:
    def run() -> None:
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(WAIT)


@pytest.mark.django_db(transaction=True)
def test_helper_reads_the_same_snapshot_on_its_own_connection(make_click):
    make_click(timezone.now())
    helper_started, click_committed = threading.Event(), threading.Event()

    def first() -> tuple[str, int, int]:
        # The helper takes the second read meanwhile; a click committed now is after the
        # snapshot, for both connections.
        assert helper_started.wait(WAIT)
        _in_another_connection(lambda: make_click(timezone.now()))
        click_committed.set()
        return _seen()

    def second() -> tuple[str, int, int]:
        helper_started.set()
        assert click_committed.wait(WAIT)
        return _seen()

    (main_thread, main_pid, main_count), (helper, helper_pid, helper_count) = page_reads.read_all(
        [first, second]
    )

    assert main_thread == threading.current_thread().name
    assert helper.startswith("page-reads")
    assert main_pid != helper_pid
    assert (main_count, helper_count) == (1, 1)
    assert Click.objects.count() == 2  # committed, and seen once the page is done


@pytest.mark.django_db(transaction=True)
def test_page_reads_alone_when_no_helper_is_configured(settings, make_click):
    settings.STATS_READ_HELPERS = 0
    make_click(timezone.now())

    seen = page_reads.read_all([_seen, _seen, _seen])

    assert {thread for thread, _, _ in seen} == {threading.current_thread().name}
    assert [count for _, _, count in seen] == [1, 1, 1]


def test_page_reads_alone_inside_a_transaction(make_click):
    # The test's transaction holds this click: another connection would not see it.
    make_click(timezone.now())

    seen = page_reads.read_all([_seen, _seen, _seen])

    assert {thread for thread, _, _ in seen} == {threading.current_thread().name}
    assert [count for _, _, count in seen] == [1, 1, 1]


@pytest.mark.django_db(transaction=True)
def test_a_helpers_error_is_the_pages():
    helper_failed = threading.Event()

    def first() -> None:
        assert helper_failed.wait(WAIT)

    def second() -> None:
        helper_failed.set()
        raise ValueError("the helper's read failed")

    with pytest.raises(ValueError, match="the helper's read failed"):
        page_reads.read_all([first, second])
    assert not connection.in_atomic_block
