"""Rollups: clicks counted ahead per UTC period, so a year of dashboard reads thousands of rows.

- Intake adds each new click to ``PendingRollup`` in the click's own transaction.
- ``update()`` (the ``update_rollups`` command, every second in production) adds pending clicks to
  the rollups and deletes their pending rows in one transaction per batch. Batching is what keeps
  a thousand webhooks a second from queueing on the same hot rows (this hour, this campaign).
- ``counts()`` answers a stats query from the coarsest rollup periods that fit inside its range,
  the clicks themselves for the edges no period covers, and the pending clicks, in one statement:
  answers are exact, and a click counts from the moment its webhook is answered.
- ``rebuild()`` recomputes a range from the clicks: after a bulk load, retention or a change of
  ``SETS``.

Periods are UTC quarter hours, days and months. Every time zone's offset is a multiple of 15
minutes, so a local hour, day, week or month is always a whole number of quarter hours, and
Asia/Kolkata or Asia/Kathmandu get exact answers, not hour-shifted ones.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Q

from analytics.filters import DIMENSIONS, ClickFilter
from analytics.models import Click, PendingRollup, Rollup

Grain = Rollup.Grain
_ALL = frozenset(Grain)
_COARSE = frozenset({Grain.DAY, Grain.MONTH})
# Sender, device, browser and OS come as one user-agent profile: ~65 combinations in all, so
# one set answers any filter and breakdown among them.
_PROFILE = ("sender", "device", "browser", "os")

# Which dimension sets are kept, and at which grains. A query is answered from the first set
# that holds all the dimensions it filters or groups by; raw clicks otherwise. Quarter hours of
# a set with long-tailed values (city, referer, pairs) would hold about a row per click, so those
# sets keep days and months and leave the edges of a range to the clicks.
SETS: dict[tuple[str, ...], frozenset[Grain]] = {
    (): _ALL,
    ("campaign",): _ALL,
    ("country",): _ALL,
    ("device",): _ALL,
    ("sender",): _ALL,
    ("browser",): _ALL,
    ("os",): _ALL,
    _PROFILE: _COARSE,
    ("referer",): _COARSE,
    ("country", "city"): _COARSE,
    ("campaign", "country"): _COARSE,
    ("campaign", "referer"): _COARSE,
    ("campaign", "city"): _COARSE,
    ("country", "referer"): _COARSE,
    ("campaign", *_PROFILE): _COARSE,
    ("country", *_PROFILE): _COARSE,
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


def dims_key(dims: Sequence[str]) -> int:
    """A set's stored name: one bit per dimension in DIMENSIONS order (campaign 1, country 2,
    device 4 …), two bytes where "campaign|sender|device|browser|os" took 34 in every row and
    both indexes."""
    return sum(1 << index for index, key in enumerate(DIMENSIONS) if key in dims)


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
            cursor.execute(_UPDATE_SQL, [batch])
            done = cursor.fetchone()[0]
        total += done
        if done < batch:
            return total


def rebuild(start: datetime | None = None, end: datetime | None = None) -> int:
    """Recompute the rollups of [start, end) from the clicks (None: unbounded); returns clicks.

    The range widens to whole UTC months, so every month row it writes is complete. One
    repeatable-read transaction: clicks stored meanwhile stay pending and are added later.
    A full rebuild (no range) drops the rollup indexes and builds them again afterwards, which
    is several times faster than maintaining them row by row; dashboards wait meanwhile.
    """
    start = _floor(start, Grain.MONTH) if start else None
    end = _month_ceil(end) if end else None
    clicks_sql, clicks_params = _range_sql("c.occurred_at", start, end)
    period_sql, period_params = _range_sql("period", start, end)
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:  # inside a caller's transaction, its isolation level stands
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # Millions of groups: hashed in memory rather than spilled to disk in 4 MB pieces.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute(
            f"DELETE FROM {PendingRollup._meta.db_table} p USING {_CLICKS} c"
            f" WHERE p.click_id = c.id AND {clicks_sql}",
            clicks_params,
        )
        full = start is None and end is None
        if full:
            cursor.execute(f"TRUNCATE {_TABLE}")
            rebuild_indexes = _drop_indexes(cursor)
        else:
            cursor.execute(f"DELETE FROM {_TABLE} WHERE {period_sql}", period_params)
        # One pass over the wide click table into a narrow copy of what the sets count, which
        # each set then scans in a fraction of the time.
        cursor.execute(
            f"CREATE TEMPORARY TABLE rollup_source ON COMMIT DROP AS SELECT occurred_at,"
            f" {', '.join(_COLUMNS)}, is_bot, is_unique, is_qr FROM {_CLICKS} c WHERE {clicks_sql}",
            clicks_params,
        )
        for dims, grains in SETS.items():
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
        # Fresh statistics, or the planner takes a rebuilt table for an empty one.
        cursor.execute(f"ANALYZE {_TABLE}")
        cursor.execute("SELECT count(*) FROM rollup_source")
        return cursor.fetchone()[0]


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


def _member_sql(dims: Sequence[str]) -> tuple[str, str]:
    """(select list, group list) of a set's dimension columns; columns outside the set are
    written empty (NULL campaign, '')."""
    selects, groups = [], []
    for key, spec in DIMENSIONS.items():
        if key in dims:
            selects.append(spec.column)
            groups.append(spec.column)
        else:
            selects.append("NULL::bigint" if spec.column == "campaign_id" else "''")
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
    return f"""
        WITH batch AS (
            DELETE FROM {pending} WHERE click_id IN (
                SELECT click_id FROM {pending} ORDER BY click_id LIMIT %s FOR UPDATE SKIP LOCKED
            )
            RETURNING click_id
        ), batch_clicks AS MATERIALIZED (
            SELECT c.* FROM {_CLICKS} c JOIN batch ON batch.click_id = c.id
        ), added AS ({_insert_sql(cells)} RETURNING 1)
        SELECT count(*) FROM batch
    """


_UPDATE_SQL = _update_sql()


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class Cover:
    """Which rollup periods and which raw click ranges together make up a query's time span."""

    dims: tuple[str, ...] | None  # the set read, None when the clicks answer it all
    periods: dict[Grain, list[tuple[datetime, datetime]]]
    raw: list[tuple[datetime, datetime]]


def plan(f: ClickFilter, group: str | None, edges: Sequence[datetime]) -> Cover:
    """The cover of the spans between consecutive ``edges`` (UTC instants) for this query."""
    needed = set(f.include) | set(f.exclude) | ({group} if group else set())
    dims = None
    if settings.STATS_USE_ROLLUPS:
        dims = next((d for d in SETS if needed <= set(d)), None)
    if dims is None:
        return Cover(None, {}, _merge([(lo, hi) for lo, hi in pairwise(edges)]))
    grains = SETS[dims]
    periods: dict[Grain, list[tuple[datetime, datetime]]] = {g: [] for g in grains}
    raw: list[tuple[datetime, datetime]] = []
    for lo, hi in pairwise(edges):
        for grain, piece in _cover(lo, hi, grains):
            (raw if grain is None else periods[grain]).append(piece)
    return Cover(dims, {g: _merge(p) for g, p in periods.items() if p}, _merge(raw))


def _cover(
    lo: datetime, hi: datetime, grains: frozenset[Grain]
) -> Iterator[tuple[Grain | None, tuple[datetime, datetime]]]:
    """Greedy: the coarsest whole period that starts here and fits, else clicks up to the next
    boundary of the finest grain kept."""
    ordered = sorted(grains, reverse=True)
    finest = ordered[-1]
    t = lo
    while t < hi:
        for grain in ordered:
            if _floor(t, grain) == t and _step(t, grain) <= hi:
                # Run on at this grain up to where a coarser one could take over.
                stop = _floor(hi, grain)
                for coarser in (g for g in ordered if g > grain):
                    boundary = _step(_floor(t, coarser), coarser)
                    stop = min(stop, max(boundary, _step(t, grain)))
                yield grain, (t, stop)
                t = stop
                break
        else:
            boundary = _step(_floor(t, finest), finest)
            stop = min(hi, boundary)
            yield None, (t, stop)
            t = stop


def _floor(t: datetime, grain: Grain) -> datetime:
    t = t.astimezone(UTC)
    if grain == Grain.QUARTER:
        return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if grain == Grain.DAY else day.replace(day=1)


def _step(t: datetime, grain: Grain) -> datetime:
    """The start of the next period after the aligned instant ``t``."""
    if grain == Grain.QUARTER:
        return t + timedelta(minutes=15)
    if grain == Grain.DAY:
        return t + timedelta(days=1)
    return (t.replace(day=28) + timedelta(days=4)).replace(day=1)


def _month_ceil(t: datetime) -> datetime:
    floor = _floor(t, Grain.MONTH)
    return floor if floor == t else _step(floor, Grain.MONTH)


def _merge(pieces: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(pieces):
        if merged and merged[-1][1] >= lo:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def counts(
    f: ClickFilter,
    edges: Sequence[datetime],
    *,
    group: str | None = None,
    bucket: str | None = None,
    by_bot: bool = False,
    apply_bot_rule: bool = True,
) -> list[tuple]:
    """(keys…, clicks, unique, qr) rows for the filter's dimensions within ``edges``.

    Keys, in order: the ``group`` dimension's value, the local ``bucket`` start (naive, in the
    filter's zone, as date_trunc names it), ``is_bot`` when ``by_bot``.
    """
    cover = plan(f, group, edges)
    keys: list[str] = []
    if group:
        keys.append(DIMENSIONS[group].column)
    parts, params = [], []
    sources = []
    if cover.dims is not None:
        rollup_ranges = [(g, r) for g, ranges in cover.periods.items() for r in ranges]
        if rollup_ranges:
            sources.append(("rollup", rollup_ranges))
            sources.append(("pending", rollup_ranges))
    if cover.raw:
        sources.append(("raw", [(None, r) for r in cover.raw]))
    for kind, ranges in sources:
        sql, part_params = _part_sql(kind, ranges, f, cover.dims, group, bucket, by_bot,
                                     apply_bot_rule)  # fmt: skip
        parts.append(sql)
        params += part_params
    width = len(keys) + bool(bucket) + by_bot
    if not parts:
        return []
    key_list = ", ".join(f"k{i}" for i in range(width))
    sql = f"""
        SELECT {key_list}{", " if width else ""}sum(c)::bigint, sum(u)::bigint, sum(q)::bigint
        FROM ({" UNION ALL ".join(parts)}) AS parts
        {"GROUP BY " + key_list if width else ""}
    """
    if cover.dims is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    # A few thousand rollup rows: starting parallel workers (the planner is tempted by the
    # raw parts' estimates) cost ~20 ms, many times the query itself.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(sql, params)
        return cursor.fetchall()


def _part_sql(
    kind: str,
    ranges: list[tuple[Grain | None, tuple[datetime, datetime]]],
    f: ClickFilter,
    dims: tuple[str, ...] | None,
    group: str | None,
    bucket: str | None,
    by_bot: bool,
    apply_bot_rule: bool,
) -> tuple[str, list]:
    model = Rollup if kind == "rollup" else Click
    time_col = "period" if kind == "rollup" else "occurred_at"
    where = f.dimension_q()
    if apply_bot_rule:
        where &= f.bot_q()
    spans = Q()
    for grain, (lo, hi) in ranges:
        span = Q(**{f"{time_col}__gte": lo, f"{time_col}__lt": hi})
        if kind == "rollup":
            span &= Q(grain=grain)
        spans |= span
    where &= spans
    if kind == "rollup":
        where &= Q(dims=dims_key(dims))
        if group is None and set(dims) <= set(f.include):
            # Every column of the unique index before the period is then pinned (the set's by
            # the filter, the others to empty, is_bot to one or both values), so one value's
            # periods are a single index range. Otherwise rollup_set_period serves the range.
            where &= _empty_q(dims)
            if not apply_bot_rule or f.bots != "exclude":
                where &= Q(is_bot__in=[False, True])
    if kind == "pending":
        where &= Q(pendingrollup__isnull=False)
    queryset = model.objects.filter(where)
    compiler = queryset.query.get_compiler(connection=connection)
    where_sql, where_params = queryset.query.where.as_sql(compiler, connection)
    from_parts, from_params = compiler.get_from_clause()
    from_sql = " ".join(from_parts)

    selects, params = [], []
    if group:
        column = connection.ops.quote_name(DIMENSIONS[group].column)
        # Grouping compares bytes, not the database's locale rules: same groups, and a sort
        # over thousands of cities several times faster. The order shown is decided in Python.
        selects.append(column if group == "campaign" else f'{column} COLLATE "C"')
    if bucket:
        selects.append(f"date_trunc(%s, {time_col} AT TIME ZONE %s)")
        params += [bucket, f.tz.key]
    if by_bot:
        selects.append("is_bot")
    keys = [f"{expr} AS k{i}" for i, expr in enumerate(selects)]
    if kind == "rollup":
        measures = "sum(clicks) AS c, sum(uniques) AS u, sum(qr) AS q"
    else:
        measures = (
            "count(*) AS c, count(*) FILTER (WHERE is_unique) AS u,"
            " count(*) FILTER (WHERE is_qr) AS q"
        )
    group_by = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    sql = f"SELECT {', '.join([*keys, measures])} FROM {from_sql} WHERE {where_sql}{group_by}"
    return sql, [*params, *from_params, *where_params]


def _empty_q(dims: tuple[str, ...]) -> Q:
    """Pin the columns outside the set to their empty value: the unique index's leading columns
    then become equalities, so one campaign's quarter hours are a single index range."""
    q = Q()
    for key, spec in DIMENSIONS.items():
        if key not in dims:
            empty = None if spec.column == "campaign_id" else ""
            q &= Q(**{f"{spec.column}__isnull": True} if empty is None else {spec.column: empty})
    return q


def local_edges(starts: Sequence[datetime], tz: ZoneInfo, start: datetime, end: datetime) -> list:
    """UTC instants where each naive local bucket start begins, clipped to [start, end]."""
    edges = [start]
    for naive in starts[1:]:
        instant = naive.replace(tzinfo=tz).astimezone(UTC)
        if start < instant < end and instant > edges[-1]:
            edges.append(instant)
    edges.append(end)
    return edges
