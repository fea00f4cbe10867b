"""Judge stored clicks again under the current bot rules (``manage.py reclassify_clicks``).

Rules need what the click table does not keep (the user agent, the full IP, the send time), so
each click's delivery is parsed again, as the worker parsed it. The burst rule then runs over
every recipient's clicks in the range, and the rollups of the months touched are rebuilt.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from analytics import bots, rollups
from analytics.bot_reasons import BotReason
from analytics.models import Click, Delivery
from analytics.senders import SENDERS, PayloadError

_CLICKS = Click._meta.db_table


@dataclass
class Result:
    clicks: int = 0
    changed: int = 0
    unparsed: int = 0  # clicks whose delivery is gone or no longer parses: kept as they were
    before: Counter = field(default_factory=Counter)
    after: Counter = field(default_factory=Counter)


def reclassify(
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    dry_run: bool = False,
    batch: int = 1000,
    progress: Callable[[int], None] = lambda clicks: None,
) -> Result:
    """Reclassify the clicks of [start, end) (None: unbounded) and rebuild their rollups."""
    result = Result()
    reasons: dict[int, str] = {}
    stored: dict[int, str] = {}
    for delivery_ids in _chunks(_delivery_ids(start, end), batch):
        judged = _judge(delivery_ids)
        for pk, was in _clicks_of(delivery_ids, start, end):
            stored[pk] = was
            if pk in judged:
                reasons[pk] = judged[pk]
            else:
                result.unparsed += 1
                # Only the burst rule can be replayed without the delivery.
                reasons[pk] = "" if was == BotReason.SCANNER_BURST else was
        progress(len(stored))
    for pk, was in _orphans(start, end):
        stored[pk] = was
        result.unparsed += 1
        reasons[pk] = "" if was == BotReason.SCANNER_BURST else was
    for pk in _burst_clicks(start, end):
        if pk in reasons and not reasons[pk]:
            reasons[pk] = BotReason.SCANNER_BURST
    changes = {pk: reason for pk, reason in reasons.items() if reason != stored[pk]}
    result.clicks, result.changed = len(stored), len(changes)
    result.before.update(BotReason(r).label for r in stored.values())
    result.after.update(BotReason(r).label for r in reasons.values())
    if changes and not dry_run:
        _write(changes)
    return result


def _judge(delivery_ids: list[int]) -> dict[int, str]:
    """Click id -> reason from the click alone, for the clicks these deliveries still parse to."""
    judged: dict[int, str] = {}
    deliveries = Delivery.objects.filter(pk__in=delivery_ids).select_related("endpoint")
    by_key: dict[tuple[str, str], str] = {}
    for delivery in deliveries:
        spec = SENDERS.get(delivery.endpoint.sender)
        if spec is None:
            continue
        try:
            events = spec.parse(bytes(delivery.body), delivery.endpoint.zone)
        except PayloadError:
            continue
        for event in events:
            if event.click and not event.test:
                by_key[(spec.key, event.click.click_key)] = bots.reason(spec, event.click)
    if not by_key:
        return judged
    senders, keys = zip(*by_key, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id, c.sender, c.click_key FROM {_CLICKS} c"
            " JOIN unnest(%s::text[], %s::text[]) AS k (sender, click_key)"
            " ON c.sender = k.sender AND c.click_key = k.click_key",
            [list(senders), list(keys)],
        )
        for pk, sender, key in cursor.fetchall():
            judged[pk] = by_key[(sender, key)]
    return judged


def _range_sql(start: datetime | None, end: datetime | None) -> tuple[str, list]:
    parts, params = ["TRUE"], []
    if start:
        parts.append("occurred_at >= %s")
        params.append(start)
    if end:
        parts.append("occurred_at < %s")
        params.append(end)
    return " AND ".join(parts), params


def _delivery_ids(start: datetime | None, end: datetime | None) -> Iterator[int]:
    where, params = _range_sql(start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT delivery_id FROM {_CLICKS} WHERE delivery_id IS NOT NULL AND {where}"
            " ORDER BY 1",
            params,
        )
        yield from (row[0] for row in cursor.fetchall())


def _clicks_of(delivery_ids: list[int], start: datetime | None, end: datetime | None) -> list:
    where, params = _range_sql(start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, bot_reason FROM {_CLICKS} WHERE delivery_id = ANY(%s) AND {where}",
            [delivery_ids, *params],
        )
        return cursor.fetchall()


def _orphans(start: datetime | None, end: datetime | None) -> list[tuple[int, str]]:
    """Clicks whose delivery retention deleted."""
    where, params = _range_sql(start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, bot_reason FROM {_CLICKS} WHERE delivery_id IS NULL AND {where}", params
        )
        return cursor.fetchall()


def _burst_clicks(start: datetime | None, end: datetime | None) -> set[object]:
    """Ids of the range's clicks in a burst, counting neighbours just outside the range."""
    window = timedelta(seconds=settings.BOT_BURST_SECONDS)
    where, params = _range_sql(start - window if start else None, end + window if end else None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, recipient_id, occurred_at, url FROM {_CLICKS}"
            f" WHERE recipient_id IS NOT NULL AND {where}",
            params,
        )
        return bots.bursts(bots.Visit(*row) for row in cursor.fetchall())


def _write(changes: dict[int, str]) -> None:
    """Store the new reasons and rebuild the rollups of the months they touch, atomically."""
    ids, reasons = list(changes), list(changes.values())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_CLICKS} c SET bot_reason = u.reason, is_bot = u.reason <> ''"
            " FROM unnest(%s::bigint[], %s::text[]) AS u (id, reason) WHERE c.id = u.id"
            " RETURNING c.occurred_at",
            [ids, reasons],
        )
        times = [row[0] for row in cursor.fetchall()]
        rollups.rebuild(min(times), max(times) + timedelta(microseconds=1))


def _chunks(values: Iterator[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
