"""A dashboard page's reads, from one snapshot of the data, shared with helper threads.

A page is a dozen independent statements (summary, time series, breakdowns), each a few ms of
one PostgreSQL backend's CPU. Run one after another they leave the other cores idle, so a
helper thread with a connection of its own takes statements off the same list. Both
connections read the same snapshot (``pg_export_snapshot``): the page's numbers agree with
each other while the worker commits new clicks, as they would on one connection.

Inside a transaction already (the tests', an admin action's), the reads run on this
connection alone: another connection could not see that transaction's rows.
"""

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction

_REPEATABLE_READ = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
_executor: ThreadPoolExecutor | None = None
_helpers = 0
_executor_lock = threading.Lock()


def read_all(reads: Sequence[Callable[[], Any]]) -> list[Any]:
    """Each read's result, in order, all from one snapshot of the data."""
    queue = _Queue(reads)
    if connection.in_atomic_block:
        queue.drain()
        return queue.results
    helpers = settings.STATS_READ_HELPERS if len(reads) > 1 else 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_REPEATABLE_READ + ("; SELECT pg_export_snapshot()" if helpers else ""))
        futures = []
        if helpers:
            cursor.nextset()
            snapshot = cursor.fetchone()[0]
            futures = [_pool().submit(_help, snapshot, queue) for _ in range(helpers)]
        try:
            queue.drain()
        finally:
            # The snapshot lives as long as this transaction: a helper that started must be
            # done before it ends; one still waiting for a thread has nothing left to do.
            started = [future for future in futures if not future.cancel()]
            wait(started)
        for future in started:
            future.result()  # a helper's error is the page's
    return queue.results


class _Queue:
    """The page's reads, taken one at a time by whichever thread is free."""

    def __init__(self, reads: Sequence[Callable[[], Any]]) -> None:
        self.reads = list(enumerate(reads))
        self.results: list[Any] = [None] * len(reads)
        self.lock = threading.Lock()

    def take(self) -> tuple[int, Callable[[], Any]] | None:
        with self.lock:
            return self.reads.pop(0) if self.reads else None

    @property
    def empty(self) -> bool:
        with self.lock:
            return not self.reads

    def drain(self) -> None:
        while (item := self.take()) is not None:
            index, read = item
            self.results[index] = read()


def _help(snapshot: str, queue: _Queue) -> None:
    if queue.empty:  # the request's thread was quicker: no connection needed
        return
    with _helper_connection(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"{_REPEATABLE_READ}; SET TRANSACTION SNAPSHOT %s", [snapshot])
        queue.drain()


@contextmanager
def _helper_connection() -> Iterator[None]:
    # What Django does around a request: a helper's connection is kept between pages for
    # CONN_MAX_AGE, and dropped when unusable (the database restarted) or too old.
    close_old_connections()
    try:
        yield
    finally:
        close_old_connections()


def _pool() -> ThreadPoolExecutor:
    global _executor, _helpers
    with _executor_lock:
        if _executor is None:
            _helpers = settings.STATS_READ_HELPERS
            _executor = ThreadPoolExecutor(max_workers=_helpers, thread_name_prefix="page-reads")
        return _executor


def shutdown() -> None:
    """Close the helpers' connections and stop them (the tests, before their database is
    dropped); the next page starts new ones."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is None:
        return
    # One close per thread: each waits for the others, so no thread takes two.
    everyone = threading.Barrier(_helpers)

    def close() -> None:
        everyone.wait(timeout=10)
        connections.close_all()

    for future in [executor.submit(close) for _ in range(_helpers)]:
        future.result()
    executor.shutdown()
