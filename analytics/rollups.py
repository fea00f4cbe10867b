"""Rollups: clicks counted ahead per UTC period, so a year of dashboard reads thousands of rows.

- Intake adds each new click to ``PendingRollup`` in the click's own transaction.
- ``update()`` (the ``update_rollups`` command, every second in production) adds pending clicks to
  the rollups and deletes their pending rows in one transaction per batch. Batching is what keeps
  a thousand webhooks a second from queueing on the same hot rows (this hour, this campaign).
- ``analytics.rollup_reads.counts()`` answers a stats query from the coarsest rollup periods
  that fit inside its range, the clicks themselves for the edges no period covers, and the
  pending clicks, in one statement: answers are exact, and a click counts from the moment its
  webhook is answered.
- ``rebuild()`` recomputes a range from the clicks: after a bulk load, retention or a change of
  ``SETS``.

Periods are UTC quarter hours, days and months. Every time zone's offset is a multiple of 15
minutes, so a local hour, day, week or month is always a whole number of quarter hours, and
Asia/Kolkata or Asia/Kathmandu get exact answers, not hour-shifted ones.
"""

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from analytics.filters import DIMENSIONS
from analytics.models import Click, PendingRollup, Rollup, RollupVersion

Grain = Rollup.Grain
_ALL = frozenset(Grain)
_COARSE = frozenset({Grain.DAY, Grain.MONTH})
# Sender, device, browser and OS come as one user-agent profile: ~65 combinations in all, so
# one set answers any filter and breakdown among them.
_PROFILE = ("sender", "device", "browser", "os")

# Which dimension sets are kept, and at which grains. A query is answered from the first set
# that holds all the dimensions it filters or groups by; raw clicks otherwise. Quarter hours of
# a set with long-tailed values (city, referer, most pairs) would hold about a row per click, so
# those sets keep days and months and leave the edges of a range to the clicks.
SETS: dict[tuple[str, ...], frozenset[Grain]] = {
    (): _ALL,
    ("campaign",): _ALL,
    ("country",): _ALL,
    ("device",): _ALL,
    ("sender",): _ALL,
    ("browser",): _ALL,
    ("os",): _ALL,
    ("bot_reason",): _ALL,  # the "bots and scanners" card
    # The pair marketers filter by most: its quarter hours (a few rows each, unlike the
    # profile's) keep a local-day time series off the clicks in every zone.
    ("country", "device"): _ALL,
    _PROFILE: _COARSE,
    ("referer",): _COARSE,
    ("country", "city"): _COARSE,
    ("campaign", "country"): _COARSE,
    ("campaign", "referer"): _COARSE,
    ("campaign", "city"): _COARSE,
    ("country", "referer"): _COARSE,
    ("campaign", *_PROFILE): _COARSE,
    ("country", *_PROFILE): _COARSE,
    # Country and device filtered together, broken down by a long-tailed dimension.
    ("campaign", "country", "device"): _COARSE,
    ("country", "device", "referer"): _COARSE,
    ("country", "city", "device"): _COARSE,
}
_LOCK = 0x636C6B72  # pg advisory lock key ("clkr"): one rollup writer at a time
_BATCH = 20_000
_SQL_TIME = {
    Grain.QUARTER: "date_bin('15 minutes', {col}, TIMESTAMPTZ '2000-01-01 00:00+00')",
    Grain.DAY: "date_trunc('day', {col}, 'UTC')",
    Grain.MONTH: "date_trunc('month', {col}, 'UTC')",
}
_TABLE = Rollup._meta.db_table
_COLUMNS = [DIMENSIONS[key].column for key in DIMENSIONS]  # campaign_id, country, …
_CLICKS = Click._meta.db_table
_VERSION = RollupVersion._meta.db_table


def dims_key(dims: Sequence[str]) -> int:
    """A set's stored name: the bits of its dimensions (``Dimension.rollup_bit``: campaign 1,
    country 2, device 4 …), two bytes where "campaign|sender|device|browser|os" took 34 in
    every row and both indexes."""
    return sum(1 << spec.rollup_bit for key, spec in DIMENSIONS.items() if key in dims)


def dims_names(dims: int) -> list[str]:
    """The dimensions of a stored set name, in DIMENSIONS order; ``dims_key`` undone."""
    return [key for key, spec in DIMENSIONS.items() if dims & (1 << spec.rollup_bit)]


# ---------------------------------------------------------------------------------------------
# Writing


def update(batch: int = _BATCH) -> int:
    """Add pending clicks to the rollups, a batch per transaction; returns how many were added.

    Returns 0 at once when another worker (or a rebuild) holds the rollup lock.
    """
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK])
            if not cursor.fetchone()[0]:
                return total
            cursor.execute(_UPDATE_SQL, [settings.BOT_LATE_EVIDENCE_SECONDS, batch])
            done, oldest = cursor.fetchone()
            # A click of a day already over changes counts that answers may be kept for
            # (analytics.closed_counts, which keeps only days over for an hour).
            if oldest is not None and oldest < period_start(timezone.now(), Grain.DAY):
                change_version(cursor)
        total += done
        if done < batch:
            return total


def rebuild(
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    sets: Collection[tuple[str, ...]] | None = None,
) -> int:
    """Recompute the rollups of [start, end) from the clicks (None: unbounded); returns clicks.

    The range widens to whole UTC months, so every month row it writes is complete. One
    repeatable-read transaction: clicks stored meanwhile stay pending and are added later.
    A full rebuild (no range) drops the rollup indexes and builds them again afterwards, which
    is several times faster than maintaining them row by row; dashboards wait meanwhile.

    ``sets`` (keys of ``SETS``) rebuilds only those, as a migration adding a set does: the other
    sets keep their rows, so the clicks still pending are left out here and added to every set,
    the new ones included, by the next ``update()``.
    """
    unknown = [dims for dims in sets or () if dims not in SETS]
    if unknown:
        raise ValueError(f"not rollup sets: {unknown}")
    start = period_start(start, Grain.MONTH) if start else None
    end = _month_ceil(end) if end else None
    clicks_sql, clicks_params = _range_sql("c.occurred_at", start, end)
    period_sql, period_params = _range_sql("period", start, end)
    pending = PendingRollup._meta.db_table
    chosen = {dims: SETS[dims] for dims in sets} if sets is not None else SETS
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:  # inside a caller's transaction, its isolation level stands
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # Millions of groups: hashed in memory rather than spilled to disk in 4 MB pieces.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        if sets is None:
            cursor.execute(
                f"DELETE FROM {pending} p USING {_CLICKS} c"
                f" WHERE p.click_id = c.id AND {clicks_sql}",
                clicks_params,
            )
        else:
            clicks_sql += f" AND NOT EXISTS (SELECT FROM {pending} p WHERE p.click_id = c.id)"
        full = start is None and end is None and sets is None
        if full:
            cursor.execute(f"TRUNCATE {_TABLE}")
            rebuild_indexes = _drop_indexes(cursor)
        else:
            keys = [dims_key(dims) for dims in chosen]
            cursor.execute(
                f"DELETE FROM {_TABLE} WHERE {period_sql} AND dims = ANY(%s)",
                [*period_params, keys],
            )
        # One pass over the wide click table into a narrow copy of what the sets count, which
        # each set then scans in a fraction of the time.
        cursor.execute(
            f"CREATE TEMPORARY TABLE rollup_source ON COMMIT DROP AS SELECT occurred_at,"
            f" {', '.join(_COLUMNS)}, is_bot, is_unique, is_qr FROM {_CLICKS} c WHERE {clicks_sql}",
            clicks_params,
        )
        for dims, grains in chosen.items():
            ordered = sorted(grains)
            # Rows go in period order, so a set's period range sits in few pages; the range
            # was emptied above: plain inserts, no conflict checks.
            cells = _cells_sql(dims, ordered[0], "rollup_source") + " ORDER BY 3"
            cursor.execute(_insert_sql(cells, upsert=False))
            for finer, coarser in pairwise(ordered):
                cells = _coarsen_sql(dims, finer, coarser, period_sql) + " ORDER BY 3"
                cursor.execute(_insert_sql(cells, upsert=False), period_params)
        if full:
            for statement in rebuild_indexes:
                cursor.execute(statement)
        change_version(cursor)
        # Fresh statistics, or the planner takes a rebuilt table for an empty one.
        cursor.execute(f"ANALYZE {_TABLE}")
        cursor.execute("SELECT count(*) FROM rollup_source")
        return cursor.fetchone()[0]


def change_version(cursor: CursorWrapper) -> None:
    """Retire every answer kept for closed days (RollupVersion), in the caller's transaction."""
    cursor.execute(f"UPDATE {_VERSION} SET token = gen_random_uuid(), changed_at = now()")


def _drop_indexes(cursor: CursorWrapper) -> list[str]:
    """Drop the rollup table's unique constraint and indexes but its primary key; returns the
    statements that create them again, read from the catalog so they never drift."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'u'",
        [_TABLE],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s"
        " AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conname = i.indexname)",
        [_TABLE],
    )
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {_TABLE} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [
        *(f'ALTER TABLE {_TABLE} ADD CONSTRAINT "{name}" {definition}'
          for name, definition in constraints),
        *(definition for _, definition in indexes),
    ]  # fmt: skip


def _range_sql(column: str, start: datetime | None, end: datetime | None) -> tuple[str, list]:
    parts, params = ["TRUE"], []
    if start:
        parts.append(f"{column} >= %s")
        params.append(start)
    if end:
        parts.append(f"{column} < %s")
        params.append(end)
    return " AND ".join(parts), params


def empty_value(column: str) -> str | None:
    """What a dimension column holds in the rows of sets without it: NULL campaign, else ''."""
    return None if column == "campaign_id" else ""


def _member_sql(dims: Sequence[str]) -> tuple[str, str]:
    """(select list, group list) of a set's dimension columns; columns outside the set are
    written empty."""
    selects, groups = [], []
    for key, spec in DIMENSIONS.items():
        if key in dims:
            selects.append(spec.column)
            groups.append(spec.column)
        else:
            selects.append("NULL::bigint" if empty_value(spec.column) is None else "''")
    return ", ".join(selects), ", ".join(["is_bot", *groups])


def _cells_sql(dims: Sequence[str], grain: Grain, source: str, where: str = "TRUE") -> str:
    """Cells of one set at one grain, counted from the click rows of ``source``."""
    period = _SQL_TIME[grain].format(col="occurred_at")
    members, groups = _member_sql(dims)
    return f"""
        SELECT {dims_key(dims)}, {int(grain)}, {period}, {members}, is_bot,
            count(*), count(*) FILTER (WHERE is_unique), count(*) FILTER (WHERE is_qr)
        FROM {source} WHERE {where}
        GROUP BY {period}, {groups}
    """


def _coarsen_sql(dims: Sequence[str], finer: Grain, coarser: Grain, where: str) -> str:
    """Cells of one set at a coarser grain, summed from its finer rows within ``where``."""
    period = _SQL_TIME[coarser].format(col="period")
    members = ", ".join(_COLUMNS)
    return f"""
        SELECT dims, {int(coarser)}, {period}, {members}, is_bot,
            sum(clicks), sum(uniques), sum(qr)
        FROM {_TABLE} WHERE dims = {dims_key(dims)} AND grain = {int(finer)} AND {where}
        GROUP BY dims, {period}, {members}, is_bot
    """


def _insert_sql(select: str, *, upsert: bool = True) -> str:
    members = ", ".join(_COLUMNS)
    insert = f"""
        INSERT INTO {_TABLE} (dims, grain, period, {members}, is_bot, clicks, uniques, qr)
        {select}
    """
    if not upsert:
        return insert
    return f"""{insert}
        ON CONFLICT (dims, grain, {members}, is_bot, period) DO UPDATE SET
            clicks = {_TABLE}.clicks + EXCLUDED.clicks,
            uniques = {_TABLE}.uniques + EXCLUDED.uniques,
            qr = {_TABLE}.qr + EXCLUDED.qr
    """


def _update_sql() -> str:
    cells = " UNION ALL ".join(
        _cells_sql(dims, grain, "batch_clicks")
        for dims, grains in SETS.items()
        for grain in sorted(grains)
    )
    pending = PendingRollup._meta.db_table
    # The batch's clicks by primary key (= ANY of an array): joined to the DELETE's RETURNING,
    # whose size the planner cannot guess, they were read by hashing the whole click table:
    # 0.2 s per update at 600k clicks whatever the batch, growing with the table.
    return f"""
        WITH batch AS (
            DELETE FROM {pending} WHERE click_id IN (
                SELECT click_id FROM {pending}
                WHERE queued_at <= clock_timestamp() - make_interval(secs => %s)
                ORDER BY click_id LIMIT %s FOR UPDATE SKIP LOCKED
            )
            RETURNING click_id
        ), batch_clicks AS MATERIALIZED (
            SELECT c.* FROM {_CLICKS} c WHERE c.id = ANY (ARRAY(SELECT click_id FROM batch))
        ), added AS ({_insert_sql(cells)} RETURNING 1)
        SELECT (SELECT count(*) FROM batch), (SELECT min(occurred_at) FROM batch_clicks)
    """


_UPDATE_SQL = _update_sql()


def period_start(t: datetime, grain: Grain) -> datetime:
    """The start of the UTC period of ``grain`` that holds ``t``."""
    t = t.astimezone(UTC)
    if grain == Grain.QUARTER:
        return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if grain == Grain.DAY else day.replace(day=1)


def next_period(t: datetime, grain: Grain) -> datetime:
    """The start of the next period after the aligned instant ``t``."""
    if grain == Grain.QUARTER:
        return t + timedelta(minutes=15)
    if grain == Grain.DAY:
        return t + timedelta(days=1)
    return (t.replace(day=28) + timedelta(days=4)).replace(day=1)


def _month_ceil(t: datetime) -> datetime:
    floor = period_start(t, Grain.MONTH)
    return floor if floor == t else next_period(floor, Grain.MONTH)
