"""The local spool: deliveries accepted while PostgreSQL is away, kept on disk until it is back.

One SQLite file (``WEBHOOK_SPOOL_PATH``, under ``var/`` by default) shared by every web process
of a host. Each write is its own transaction in WAL mode with ``synchronous=FULL``, so a delivery
is on disk (fsync'd) before its sender hears 200. ``analytics.acceptance.replay_spool``, run by
the processing worker, copies them into PostgreSQL and only then deletes them here.

The file also keeps the last snapshot of the webhook endpoints, so a web process that starts
while PostgreSQL is down can still authenticate senders.
"""

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS delivery (
    spool_id TEXT PRIMARY KEY,
    endpoint_id INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    remote_addr TEXT,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS endpoint_snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    endpoints TEXT NOT NULL
);
"""


class SpoolUnavailable(Exception):
    """The spool cannot be written (full disk, unwritable directory): the one case for a 503."""


@dataclass(frozen=True)
class RawDelivery:
    """A delivery as accepted, before PostgreSQL or the spool gives it a home."""

    spool_id: uuid.UUID
    endpoint_id: int
    received_at: datetime
    remote_addr: str | None
    headers: dict[str, str]
    body: bytes
    status: str
    error: str


_local = threading.local()
# Endpoints deleted while their deliveries sat in the spool: skipped by replay, never dropped.
orphaned_endpoints: set[int] = set()


def _connect() -> sqlite3.Connection:
    """This thread's connection to the spool file (sqlite3 connections stay in their thread)."""
    path = Path(settings.WEBHOOK_SPOOL_PATH)
    cached = getattr(_local, "connection", None)
    if cached is not None and cached[0] == path:
        return cached[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=True)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is fsync'd before it returns, so a 200 outlives a power cut.
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_SCHEMA)
    _local.connection = (path, conn)
    return conn


def write(delivery: RawDelivery) -> None:
    """Make one delivery durable on local disk, or raise ``SpoolUnavailable``."""
    try:
        _connect().execute(
            "INSERT INTO delivery VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(delivery.spool_id),
                delivery.endpoint_id,
                delivery.received_at.isoformat(),
                delivery.remote_addr,
                json.dumps(delivery.headers),
                delivery.body,
                delivery.status,
                delivery.error,
            ),
        )
    except (sqlite3.Error, OSError) as exc:
        close()
        raise SpoolUnavailable(str(exc)) from exc


def pending() -> int:
    """How many deliveries wait in this host's spool."""
    if not Path(settings.WEBHOOK_SPOOL_PATH).exists():
        return 0
    try:
        return _connect().execute("SELECT count(*) FROM delivery").fetchone()[0]
    except sqlite3.Error:
        return 0


def pending_by_endpoint() -> dict[int, int]:
    """How many deliveries wait in this host's spool, per endpoint id (the intake health page)."""
    if not Path(settings.WEBHOOK_SPOOL_PATH).exists():
        return {}
    try:
        rows = (
            _connect()
            .execute("SELECT endpoint_id, count(*) FROM delivery GROUP BY endpoint_id")
            .fetchall()
        )
    except sqlite3.Error:
        return {}
    return dict(rows)


def oldest(limit: int) -> list[RawDelivery]:
    """The longest-waiting deliveries, except those of endpoints known to be deleted."""
    if not Path(settings.WEBHOOK_SPOOL_PATH).exists():
        return []
    rows = (
        _connect()
        .execute(
            "SELECT * FROM delivery WHERE endpoint_id NOT IN (SELECT value FROM json_each(?)) "
            "ORDER BY rowid LIMIT ?",
            (json.dumps(sorted(orphaned_endpoints)), limit),
        )
        .fetchall()
    )
    return [_from_row(row) for row in rows]


def delete(spool_ids: list[uuid.UUID]) -> None:
    _connect().executemany(
        "DELETE FROM delivery WHERE spool_id = ?", [(str(spool_id),) for spool_id in spool_ids]
    )


def save_endpoints(snapshot: list[dict[str, object]]) -> None:
    """Keep the endpoints' authentication data for a start-up while PostgreSQL is down."""
    try:
        _connect().execute(
            "INSERT INTO endpoint_snapshot (id, endpoints) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET endpoints = excluded.endpoints",
            (json.dumps(snapshot),),
        )
    except (sqlite3.Error, OSError):
        close()  # a stale snapshot only matters during an outage; the next refresh tries again


def load_endpoints() -> list[dict[str, object]] | None:
    if not Path(settings.WEBHOOK_SPOOL_PATH).exists():
        return None
    try:
        row = _connect().execute("SELECT endpoints FROM endpoint_snapshot").fetchone()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row else None


def close() -> None:
    """Close this thread's connection (after an error, and in tests between spool files)."""
    cached = getattr(_local, "connection", None)
    _local.connection = None
    if cached is not None:
        cached[1].close()


def _from_row(row: tuple) -> RawDelivery:
    spool_id, endpoint_id, received_at, remote_addr, headers, body, status, error = row
    return RawDelivery(
        spool_id=uuid.UUID(spool_id),
        endpoint_id=endpoint_id,
        received_at=datetime.fromisoformat(received_at),
        remote_addr=remote_addr,
        headers=json.loads(headers),
        body=bytes(body),
        status=status,
        error=error,
    )
