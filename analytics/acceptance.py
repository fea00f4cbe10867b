"""Accepting a delivery: find its endpoint, make its raw bytes durable, say so. Never processes.

A sender only learns whether its delivery was accepted, and senders disable receivers that fail
(Dub after 20 failed attempts in a row), so this path must answer 2xx whatever PostgreSQL does:

- the delivery is one INSERT, committed on its own (PostgreSQL's group commit shares the WAL
  flush between concurrent webhooks);
- while PostgreSQL is away, it goes to the local spool instead (``analytics.spool``), and
  ``replay_spool`` moves it into PostgreSQL once it answers again;
- endpoints are authenticated from a per-process copy, refreshed every few seconds and kept in
  the spool file too, so authentication needs no database either.

Turning deliveries into clicks is ``analytics.intake``'s, in the processing worker.
"""

import hmac
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from analytics import spool
from analytics.models import Delivery, WebhookEndpoint
from analytics.spool import RawDelivery

logger = logging.getLogger(__name__)

# What authentication reads of an endpoint, and what the spool keeps of it.
_ENDPOINT_FIELDS = (
    "id",
    "sender",
    "name",
    "token",
    "secret",
    "time_zone",
    "is_active",
    "previous_token",
    "previous_token_expires_at",
    "previous_secret",
    "previous_secret_expires_at",
)
_DATETIME_FIELDS = ("previous_token_expires_at", "previous_secret_expires_at")


class EndpointsUnknown(Exception):
    """PostgreSQL is away and no copy of the endpoints exists yet: nothing can be authenticated."""


@dataclass(frozen=True)
class Accepted:
    """What the sender is told: the delivery's id in PostgreSQL, or its id in the spool."""

    delivery_id: int | None
    spool_id: uuid.UUID | None
    status: str


@dataclass
class _EndpointCache:
    loaded_at: float
    by_sender: dict[str, list[WebhookEndpoint]]
    snapshot: str


_cache: _EndpointCache | None = None
_cache_lock = threading.Lock()
# While PostgreSQL is away, requests go straight to the spool until this monotonic time instead
# of each waiting for a connection attempt to fail.
_database_retry_at = 0.0


def find_endpoint(sender: str, token: str) -> WebhookEndpoint | None:
    """The endpoint whose token matches, compared in constant time against each of the sender's.

    An unknown token reads the endpoints again if this copy is over a second old, so an endpoint
    created in another process answers its first delivery (Dub's "Send test event") at once.
    """
    found = _match(_endpoints(), sender, token)
    cache = _cache
    if found is None and cache is not None and time.monotonic() - cache.loaded_at > 1:
        cache.loaded_at = float("-inf")  # stale: the next read refreshes
        found = _match(_endpoints(), sender, token)
    return found


def _match(
    endpoints: dict[str, list[WebhookEndpoint]], sender: str, token: str
) -> WebhookEndpoint | None:
    found = None
    for endpoint in endpoints.get(sender, []):
        for valid in endpoint.valid_tokens():
            if _same(valid, token):
                found = endpoint
    return found


def accept(
    endpoint: WebhookEndpoint,
    body: bytes,
    headers: dict[str, str],
    remote_addr: str | None,
    *,
    error: str = "",
) -> Accepted:
    """Store the delivery durably (PostgreSQL, else the spool) and say where.

    ``error`` stores it as failed (a body refused by the cheap shape check), so nothing received
    is dropped. Raises ``SpoolUnavailable`` only when PostgreSQL is away and the disk refuses too.
    """
    delivery = RawDelivery(
        spool_id=uuid.uuid4(),
        endpoint_id=endpoint.pk,
        received_at=timezone.now(),
        remote_addr=remote_addr,
        headers=headers,
        body=body,
        status=Delivery.Status.FAILED if error else Delivery.Status.RECEIVED,
        error=error,
    )
    if _database_may_answer():
        try:
            (pk,) = insert_deliveries([delivery], spooled=False)
        except (OperationalError, InterfaceError) as exc:
            _database_failed(exc)
        else:
            return Accepted(pk, None, delivery.status)
    spool.write(delivery)
    return Accepted(None, delivery.spool_id, "spooled")


def insert_deliveries(deliveries: list[RawDelivery], *, spooled: bool = True) -> list[int]:
    """Insert deliveries in one statement; the ids of those inserted.

    Spooled ones keep their spool id, and one already in PostgreSQL (a replay cut short after
    its commit) inserts nothing.
    """
    if len(deliveries) == 1:
        return _insert_one(deliveries[0], spooled=spooled)
    columns = {
        "spool_id": ("uuid", [str(d.spool_id) if spooled else None for d in deliveries]),
        "endpoint_id": ("bigint", [d.endpoint_id for d in deliveries]),
        "received_at": ("timestamptz", [d.received_at for d in deliveries]),
        "remote_addr": ("inet", [d.remote_addr for d in deliveries]),
        "headers": ("jsonb", [json.dumps(d.headers) for d in deliveries]),
        "body": ("bytea", [d.body for d in deliveries]),
        "status": ("text", [d.status for d in deliveries]),
        "error": ("text", [d.error for d in deliveries]),
    }
    arrays = ", ".join(f"%s::{kind}[]" for kind, _ in columns.values())
    sql = f"""
        INSERT INTO {Delivery._meta.db_table} ({", ".join(columns)}, event_type,
            clicks_created, duplicates, ignored, attempts)
        SELECT *, '', 0, 0, 0, 0 FROM unnest({arrays})
        ON CONFLICT (spool_id) WHERE spool_id IS NOT NULL DO NOTHING
        RETURNING id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [values for _, values in columns.values()])
        return [row[0] for row in cursor.fetchall()]


# One delivery, the webhook view's case: the same row and conflict rule as the unnest form,
# with plain values. Arrays cost the client more (a bytea inside an array literal is escaped
# twice over) and the server more (unnest), for nothing when there is one row.
_INSERT_ONE = f"""
    INSERT INTO {Delivery._meta.db_table} (spool_id, endpoint_id, received_at, remote_addr,
        headers, body, status, error, event_type, clicks_created, duplicates, ignored, attempts)
    VALUES (%s::uuid, %s, %s::timestamptz, %s::inet, %s::jsonb, %s::bytea, %s, %s, '', 0, 0, 0, 0)
    ON CONFLICT (spool_id) WHERE spool_id IS NOT NULL DO NOTHING
    RETURNING id
"""


def _insert_one(delivery: RawDelivery, *, spooled: bool) -> list[int]:
    values = [
        str(delivery.spool_id) if spooled else None,
        delivery.endpoint_id,
        delivery.received_at,
        delivery.remote_addr,
        json.dumps(delivery.headers),
        delivery.body,
        delivery.status,
        delivery.error,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ONE, values)
        return [row[0] for row in cursor.fetchall()]


def replay_spool(limit: int = 500) -> int:
    """Move up to ``limit`` deliveries from this host's spool into PostgreSQL; how many moved.

    Raises the database's error while PostgreSQL is still away; the spool is then untouched.
    """
    spooled = spool.oldest(limit)
    if not spooled:
        return 0
    known = set(
        WebhookEndpoint.objects.filter(pk__in={d.endpoint_id for d in spooled}).values_list(
            "pk", flat=True
        )
    )
    movable = [d for d in spooled if d.endpoint_id in known]
    if len(movable) < len(spooled):
        # Only an endpoint deleted during an outage gets here: its deliveries stay in the file.
        spool.orphaned_endpoints.update({d.endpoint_id for d in spooled} - known)
        logger.error(
            "%d spooled deliveries name deleted endpoints; they stay in %s",
            len(spooled) - len(movable),
            settings.WEBHOOK_SPOOL_PATH,
        )
    with transaction.atomic():
        insert_deliveries(movable)
    # Deleted here only after PostgreSQL has committed; a crash in between replays them again,
    # and their spool ids make that second insert a no-op.
    spool.delete([d.spool_id for d in movable])
    return len(movable)


def forget_endpoints() -> None:
    """Drop this process's copy of the endpoints; the next request reads them again."""
    global _cache, _database_retry_at
    with _cache_lock:
        _cache = None
        _database_retry_at = 0.0


@receiver([post_save, post_delete], sender=WebhookEndpoint)
def _endpoint_changed(**kwargs: object) -> None:
    # This process sees its own edits at once; other processes within the cache's lifetime.
    forget_endpoints()


def _endpoints() -> dict[str, list[WebhookEndpoint]]:
    global _cache
    cache = _cache
    now = time.monotonic()
    if cache is not None and now - cache.loaded_at < settings.WEBHOOK_ENDPOINT_CACHE_SECONDS:
        return cache.by_sender
    with _cache_lock:
        cache = _cache
        if cache is not None and now - cache.loaded_at < settings.WEBHOOK_ENDPOINT_CACHE_SECONDS:
            return cache.by_sender  # another thread refreshed it meanwhile
        rows = _read_endpoints()
        if rows is None:
            if cache is not None:
                # Keep authenticating with what we know; look again in a second.
                cache.loaded_at = now - settings.WEBHOOK_ENDPOINT_CACHE_SECONDS + 1
                return cache.by_sender
            rows = spool.load_endpoints()
            if rows is None:
                raise EndpointsUnknown("PostgreSQL is away and no endpoint snapshot exists.")
        snapshot = json.dumps(rows, sort_keys=True)
        if cache is None or snapshot != cache.snapshot:
            spool.save_endpoints(rows)
        by_sender: dict[str, list[WebhookEndpoint]] = {}
        for row in rows:
            endpoint = _endpoint_from(row)
            by_sender.setdefault(endpoint.sender, []).append(endpoint)
        _cache = _EndpointCache(loaded_at=now, by_sender=by_sender, snapshot=snapshot)
        return by_sender


def _read_endpoints() -> list[dict[str, object]] | None:
    """Every endpoint as JSON-ready dicts, or None while PostgreSQL is away."""
    if not _database_may_answer():
        return None
    try:
        rows = list(WebhookEndpoint.objects.order_by("pk").values(*_ENDPOINT_FIELDS))
    except (OperationalError, InterfaceError) as exc:
        _database_failed(exc)
        return None
    for row in rows:
        for name in _DATETIME_FIELDS:
            row[name] = row[name].isoformat() if row[name] else None
    return rows


def _endpoint_from(row: dict[str, object]) -> WebhookEndpoint:
    values = dict(row)
    for name in _DATETIME_FIELDS:
        values[name] = datetime.fromisoformat(values[name]) if values[name] else None
    return WebhookEndpoint(**values)


def _database_may_answer() -> bool:
    return time.monotonic() >= _database_retry_at


def _database_failed(exc: Exception) -> None:
    global _database_retry_at
    # One line, not a traceback: an outage means hundreds of these a second.
    logger.warning("PostgreSQL unavailable, accepting into the spool: %s", exc)
    # Django drops the broken connection at the end of the request; the next attempt connects
    # afresh.
    _database_retry_at = time.monotonic() + settings.WEBHOOK_DATABASE_RETRY_SECONDS


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
