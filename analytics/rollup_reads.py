"""How a stats query is answered from the rollups (analytics.rollups) and the clicks.

``plan`` splits a query's time span into the coarsest whole UTC periods of the first rollup set
that holds its dimensions, plus raw click ranges for what no period covers; ``counts`` reads
those rollup rows, the raw ranges and the clicks still queued for the rollups in one statement.

Rollup rows and clicks keep the sender campaign. Grouping by ``campaign`` counts canonical
campaigns (analytics.campaigns): the statement maps each sender campaign's counts through the
campaign table, so a change of rules never rewrites a rollup. ``SENDER_CAMPAIGN`` groups by the
sender campaign itself.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import FullResultSet
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from analytics import closed_counts
from analytics.filters import DIMENSIONS, SENDER_CAMPAIGN, ClickFilter
from analytics.models import Campaign, Click, Rollup
from analytics.rollups import SETS, Grain, dims_key, empty_value, next_period, period_start

# Up to this many ranges of one grain are read by a statement part each (see _pieces).
_FEW_RANGES = 4
# A statement wrapped in these reads without parallel workers (see counts).
_SERIAL = "SET LOCAL max_parallel_workers_per_gather = 0"
_SERIAL_END = "SET LOCAL max_parallel_workers_per_gather TO DEFAULT"


class CountRow(NamedTuple):
    """One row of ``counts``: its keys, each None unless the call asked for it, then the counts.

    Every call returns this one shape, whatever keys it asked for; read it by name.
    """

    # The ``group`` dimension's value (campaign: the canonical or, for SENDER_CAMPAIGN, the
    # sender campaign's id; None for no campaign).
    value: object = None
    bucket: datetime | None = None  # local ``bucket`` start, naive, as date_trunc names it
    is_bot: bool | None = None  # when ``by_bot``
    clicks: int = 0
    uniques: int = 0
    qr: int = 0


@dataclass(frozen=True)
class Cover:
    """Which rollup periods and which raw click ranges together make up a query's time span."""

    dims: tuple[str, ...] | None  # the set read, None when the clicks answer it all
    periods: dict[Grain, list[tuple[datetime, datetime]]]
    raw: list[tuple[datetime, datetime]]


def plan(f: ClickFilter, group: str | None, edges: Sequence[datetime]) -> Cover:
    """The cover of the spans between consecutive ``edges`` (UTC instants) for this query."""
    needed = f.filtered_dimensions() | ({_stored(group)} if group else set())
    dims = None
    if settings.STATS_USE_ROLLUPS:
        dims = next((d for d in SETS if needed <= set(d)), None)
    if dims is None:
        return Cover(None, {}, _merge([(lo, hi) for lo, hi in pairwise(edges)]))
    grains = SETS[dims]
    periods: dict[Grain, list[tuple[datetime, datetime]]] = {g: [] for g in grains}
    raw: list[tuple[datetime, datetime]] = []
    for lo, hi in pairwise(edges):
        for grain, piece in _covered(lo, hi, grains):
            (raw if grain is None else periods[grain]).append(piece)
    return Cover(dims, {g: _merge(p) for g, p in periods.items() if p}, _merge(raw))


@lru_cache(maxsize=4096)
def _covered(
    lo: datetime, hi: datetime, grains: frozenset[Grain]
) -> tuple[tuple[Grain | None, tuple[datetime, datetime]], ...]:
    """``_cover``, kept: a page asks for the same spans again and again (a 90-day series has
    90 local days, in the summary's, the series' and the next page's reads)."""
    return tuple(_cover(lo, hi, grains))


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
            if period_start(t, grain) == t and next_period(t, grain) <= hi:
                # Run on at this grain up to where a coarser one could take over.
                stop = period_start(hi, grain)
                for coarser in (g for g in ordered if g > grain):
                    boundary = next_period(period_start(t, coarser), coarser)
                    stop = min(stop, max(boundary, next_period(t, grain)))
                yield grain, (t, stop)
                t = stop
                break
        else:
            boundary = next_period(period_start(t, finest), finest)
            stop = min(hi, boundary)
            yield None, (t, stop)
            t = stop


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
) -> list[CountRow]:
    """Clicks, unique clicks and QR scans matching the filter within ``edges``: a row per
    combination of the keys asked for (the ``group`` dimension's value, the local ``bucket``
    start, the bot flag when ``by_bot``), a single row when none is.

    ``group`` is a dimension, or SENDER_CAMPAIGN: the campaign column without the mapping to
    canonical campaigns. A canonical campaign's uniques are the sum of its sender campaigns'
    (a visitor is known per sender campaign, see FirstClick)."""
    cover = plan(f, group, edges)
    # What closed days' rollup periods and settled clicks answer may have been kept
    # (analytics.closed_counts); the clicks still pending are counted live over every range.
    closed, live = closed_counts.split(cover.periods | {None: cover.raw}, timezone.now())
    closed_raw, live_raw = closed.pop(None, []), live.pop(None, [])
    sources = [("rollup", ranges) for ranges in _rollup_ranges(live)]
    pending = [(g, r) for g, ranges in cover.periods.items() for r in ranges]
    pending += [(None, r) for r in closed_raw]
    if pending:
        sources.append(("pending", pending))
    sources += [("raw", [(None, r) for r in piece]) for piece in _pieces(live_raw)]
    parts = [
        _part_sql(kind, ranges, f, cover.dims, group, bucket, by_bot, apply_bot_rule)
        for kind, ranges in sources
    ]
    closed_sources = [("rollup", ranges) for ranges in _rollup_ranges(closed)]
    closed_sources += [("settled", [(None, r) for r in piece]) for piece in _pieces(closed_raw)]
    closed_parts = [
        _part_sql(kind, ranges, f, cover.dims, group, bucket, by_bot, apply_bot_rule)
        for kind, ranges in closed_sources
    ]
    serial = cover.dims is not None
    if closed_parts:
        kept = closed_counts.part(
            closed_parts, _part_types(group, bucket, by_bot), partial(_run, serial=serial)
        )
        if kept.key is not None:
            fetched = _fetch([*parts, (kept.sql, kept.params)], group, bucket, by_bot, serial,
                             token=True)  # fmt: skip
            if closed_counts.stood(kept, fetched):
                return [CountRow._make(row[:-1]) for row in fetched]
    return list(map(CountRow._make, _fetch([*parts, *closed_parts], group, bucket, by_bot, serial)))


def _fetch(
    parts: list[tuple[str, list]],
    group: str | None,
    bucket: str | None,
    by_bot: bool,
    serial: bool,
    *,
    token: bool = False,
) -> list[tuple]:
    """The rows of one statement summing ``parts`` per key, in CountRow's shape (the
    ``closed_counts.TOKEN_COLUMN`` after it when ``token``)."""
    if not parts:
        return []
    # Every CountRow key is selected, NULL when not asked for, so rows load as CountRows
    # without a lookup per row (a city breakdown has thousands).
    asked = [bool(group), bool(bucket), by_bot]
    part_keys = iter(f"parts.k{i}" for i in range(sum(asked)))
    keys = [next(part_keys) if ask else "NULL" for ask in asked]
    join = ""
    if group == "campaign":
        # The parts group by sender campaign (a few thousand rows at most); their campaign's
        # canonical_id is the key. No campaign stays NULL.
        keys[0] = "m.canonical_id"
        join = f"LEFT JOIN {Campaign._meta.db_table} AS m ON m.id = parts.k0"
    grouped = [str(i + 1) for i, ask in enumerate(asked) if ask]
    sql = f"""
        SELECT {", ".join(keys)},
            sum(parts.c)::bigint, sum(parts.u)::bigint, sum(parts.q)::bigint
            {f", {closed_counts.TOKEN_COLUMN}" if token else ""}
        FROM ({" UNION ALL ".join(sql for sql, _ in parts)}) AS parts {join}
        {"GROUP BY " + ", ".join(grouped) if grouped else ""}
    """
    return _run(sql, [p for _, part_params in parts for p in part_params], serial=serial)


def _run(sql: str, params: list, *, serial: bool) -> list[tuple]:
    """The rows of one statement; ``serial``: without parallel workers."""
    if serial:
        # A few thousand rollup rows: starting parallel workers (the planner is tempted by the
        # raw parts' estimates) costs ~20 ms, many times the query itself. Off for this
        # statement only, in its round trip: statements sent together run as one transaction,
        # and inside a caller's transaction (the page's snapshot) the setting is put back.
        sql = f"{_SERIAL}; {sql}; {_SERIAL_END}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if serial:
            cursor.nextset()
        return cursor.fetchall()


def _rollup_ranges(
    periods: dict[Grain, list[tuple[datetime, datetime]]],
) -> list[list[tuple[Grain, tuple[datetime, datetime]]]]:
    """The rollup ranges of each statement part, grain by grain (see _pieces)."""
    return [[(g, r) for r in piece] for g, ranges in periods.items() for piece in _pieces(ranges)]


def _part_types(group: str | None, bucket: str | None, by_bot: bool) -> list[str]:
    """The SQL types of a part's columns, in the order _part_sql selects them."""
    types = []
    if group:
        types.append("bigint" if _stored(group) == "campaign" else "text")
    if bucket:
        types.append("timestamp")
    if by_bot:
        types.append("boolean")
    return [*types, "bigint", "bigint", "bigint"]


def _pieces(ranges: list[tuple[datetime, datetime]]) -> list[list[tuple[datetime, datetime]]]:
    """How a grain's ranges are split into statement parts. A few (a summary's edges and
    middle): a part each, so each reads one index range. Many (a year of weekly buckets in a
    zone off UTC): one part within their hull, as a plan per range would cost more."""
    return [[r] for r in ranges] if len(ranges) <= _FEW_RANGES else [ranges]


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
    from_sql, where_sql, where_params = _fixed_clauses(kind, f, dims, group, apply_bot_rule)
    # The time ranges, written here rather than compiled by the ORM like the rest (building a
    # part's Q took longer than running it). Their hull, redundant with their OR, is what an
    # index can range over: with the OR alone, a filtered value's rows were read for every
    # period (a campaign's year of quarter hours for the two edges of a month).
    column = f"{connection.ops.quote_name(model._meta.db_table)}.{time_col}"
    grain_column = f"{connection.ops.quote_name(Rollup._meta.db_table)}.grain"
    spans, span_params = [], []
    for grain, (lo, hi) in ranges:
        if kind == "rollup":
            spans.append(f"({column} >= %s AND {column} < %s AND {grain_column} = %s)")
            span_params += [lo, hi, grain]
        else:
            spans.append(f"({column} >= %s AND {column} < %s)")
            span_params += [lo, hi]
    hull = [min(lo for _, (lo, _) in ranges), max(hi for _, (_, hi) in ranges)]
    where_sql = f"{where_sql} AND ({' OR '.join(spans)}) AND {column} >= %s AND {column} < %s"
    where_params = [*where_params, *span_params, *hull]

    selects, params = [], []
    if group:
        stored = _stored(group)
        column = connection.ops.quote_name(DIMENSIONS[stored].column)
        # Grouping compares bytes, not the database's locale rules: same groups, and a sort
        # over thousands of cities several times faster. The order shown is decided in Python.
        selects.append(column if stored == "campaign" else f'{column} COLLATE "C"')
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
    return sql, [*params, *where_params]


# Compiled FROM and WHERE clauses by what they depend on: the same few filters are read over
# and over (a page is a dozen statements of several parts each, all with the page's filter).
_FIXED: dict[tuple, tuple[str, str, list]] = {}
_FIXED_MAX = 1024


def _fixed_clauses(
    kind: str,
    f: ClickFilter,
    dims: tuple[str, ...] | None,
    group: str | None,
    apply_bot_rule: bool,
) -> tuple[str, str, list]:
    """A part's FROM and WHERE clauses without its time ranges, and their parameters."""
    bot_rule = apply_bot_rule and not f.counts_bots
    # Every column of the unique index before the period is then pinned (the set's by the
    # filter, the others to empty, is_bot to one or both values), so one value's periods are
    # a single index range. Otherwise rollup_set_period serves the range.
    pinned = kind == "rollup" and group is None and set(dims) <= set(f.include)
    key = (kind, dims, bot_rule, pinned, f.dimension_key())
    if (found := _FIXED.get(key)) is not None:
        return found
    where = f.dimension_q() & (f.bot_q() if apply_bot_rule else Q())
    if kind == "rollup":
        where &= Q(dims=dims_key(dims))
        if pinned:
            where &= _empty_q(dims) & (Q() if bot_rule else Q(is_bot__in=[False, True]))
    if kind == "pending":
        where &= Q(pendingrollup__isnull=False)
    if kind == "settled":  # clicks of closed days the rollup worker has counted (closed_counts)
        where &= Q(pendingrollup__isnull=True)
    model = Rollup if kind == "rollup" else Click
    found = _from_where_sql(model.objects.filter(where))
    if len(_FIXED) >= _FIXED_MAX:
        _FIXED.clear()
    _FIXED[key] = found
    return found


def _stored(group: str) -> str:
    """The dimension whose column holds a grouping's values."""
    return "campaign" if group == SENDER_CAMPAIGN else group


def _from_where_sql(queryset: QuerySet) -> tuple[str, str, list]:
    """The FROM and WHERE clauses Django compiles for ``queryset``, and their parameters.

    Django has no public API for one clause of a query, so this reaches into its SQL compiler
    (``Query.get_compiler``, ``WhereNode.as_sql``, ``SQLCompiler.get_from_clause``: private,
    free to change in any release). It is the only such use, kept alone here so an upgrade that
    breaks it breaks one function, which every rollup test runs. The alternatives are worse:
    ``str(queryset.query)`` inlines parameters unquoted, and building the whole part through
    annotate()/values() would change the SQL the planner sees (grouping, COLLATE, measures).
    """
    compiler = queryset.query.get_compiler(connection=connection)
    try:
        where_sql, where_params = queryset.query.where.as_sql(compiler, connection)
    except FullResultSet:  # no condition at all (the raw clicks, no filter, bots counted)
        return connection.ops.quote_name(queryset.model._meta.db_table), "TRUE", []
    from_parts, from_params = compiler.get_from_clause()
    return " ".join(from_parts), where_sql, [*from_params, *where_params]


def _empty_q(dims: tuple[str, ...]) -> Q:
    """Pin the columns outside the set to their empty value: the unique index's leading columns
    then become equalities, so one campaign's quarter hours are a single index range."""
    q = Q()
    for key, spec in DIMENSIONS.items():
        if key not in dims:
            empty = empty_value(spec.column)
            q &= Q(**{f"{spec.column}__isnull": True} if empty is None else {spec.column: empty})
    return q


def local_edges(
    starts: Sequence[datetime], tz: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    """UTC instants where each naive local bucket start begins, clipped to [start, end]."""
    edges = [start]
    for naive in starts[1:]:
        instant = naive.replace(tzinfo=tz).astimezone(UTC)
        if start < instant < end and instant > edges[-1]:
            edges.append(instant)
    edges.append(end)
    return edges
