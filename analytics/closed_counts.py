"""Answers kept for closed UTC days, so a 90-day page reads its days' rows once.

``rollup_reads.counts`` hands over the statement parts that read closed days (before
``closed_before(now)``): rollup periods, and the clicks of raw ranges the rollup worker has
counted ("settled"; pending clicks are counted live). ``part`` returns a part answering the same
rows, from the kept answers when they hold them. What was kept names the ``RollupVersion`` token
it was read at, and the part checks it in the statement itself: while the token stands the kept
rows are used; if it has changed meanwhile (a late click counted, a rebuild, a
reclassification, a deletion, a campaign moved) they are left out, the statement says which
token it saw, and ``rollup_reads.counts`` reads again with the closed days' rows. An answer is
therefore never older than the snapshot it is read in; a changed token costs one statement.

Days stay open for an hour after they end (``CLOSED_AFTER``): the rollup worker changes the
token for any click of a day before the current one, so a worker transaction that straddles
midnight cannot leave a kept answer behind without changing it.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from django.conf import settings
from django.core.cache import caches

from analytics.models import RollupVersion
from analytics.rollups import Grain, period_start

CLOSED_AFTER = timedelta(hours=1)
_AT_LEAST = timedelta(days=1)  # of closed time, for an answer to be worth keeping
CACHE = "closed_counts"
_KEPT_SECONDS = 24 * 3600  # a day's answers are kept at most a day: tomorrow asks other ranges
_TOKEN = f"SELECT token FROM {RollupVersion._meta.db_table} WHERE id = 1"
# Selected by a statement that uses a ``part``: the token its snapshot sees.
TOKEN_COLUMN = f"({_TOKEN})"
# Rollup ranges by grain; None for raw click ranges.
Ranges = dict[Grain | None, list[tuple[datetime, datetime]]]


def closed_before(now: datetime) -> datetime:
    """The end of the periods whose answers may be kept: the start of the last closed day."""
    return period_start(now - CLOSED_AFTER, Grain.DAY)


def split(ranges_by_grain: Ranges, now: datetime) -> tuple[Ranges, Ranges]:
    """Each grain's ranges cut in two: the closed ones (before ``closed_before``) and the rest.

    A cut falls on a whole period of the grain, the closed side ending at the last boundary at
    or before ``closed_before`` (for months, the start of that day's month); raw click ranges
    (None) are cut at ``closed_before`` itself.
    """
    closed: Ranges = {}
    live: Ranges = {}
    # Reading the clicks alone is the reference the rollups are tested against: nothing kept.
    if not settings.STATS_CLOSED_COUNTS_KEPT or not settings.STATS_USE_ROLLUPS:
        return closed, dict(ranges_by_grain)
    boundary = closed_before(now)
    for grain, ranges in ranges_by_grain.items():
        cut = boundary if grain is None else period_start(boundary, grain)
        for lo, hi in ranges:
            if lo < cut and (grain is not None or _fixed_edge(lo)):
                closed.setdefault(grain, []).append((lo, min(hi, cut)))
            elif lo < cut:
                # An edge that moves with the clock (the start of "last 24 hours"): kept, it
                # would be a new answer every time. A few minutes of clicks, read live.
                live.setdefault(grain, []).append((lo, min(hi, cut)))
            if hi > cut:
                live.setdefault(grain, []).append((max(lo, cut), hi))
    if sum((hi - lo for ranges in closed.values() for lo, hi in ranges), timedelta()) < _AT_LEAST:
        # Less than a day closed (the last 24 hours): read faster than kept and checked.
        return {}, dict(ranges_by_grain)
    return closed, live


def _fixed_edge(moment: datetime) -> bool:
    """Whether a raw range starting here starts where a local day or hour does: every zone's
    offset is a multiple of 15 minutes, the clock's "now" almost never is."""
    return period_start(moment, Grain.QUARTER) == moment


class Part(NamedTuple):
    """A statement part for closed days, and what to check once it has run (``stood``)."""

    sql: str
    params: list
    key: str | None = None  # the cache key of the kept rows it uses, None when it uses none
    token: UUID | None = None  # the token they were read at
    nonempty: bool = False  # whether they hold any row


def part(
    parts: list[tuple[str, list]], types: list[str], run: Callable[[str, list], list[tuple]]
) -> Part:
    """One part answering the rows of ``parts`` (each a statement part reading closed days only,
    and its parameters) from what was kept, read and kept first if nothing was.

    ``types`` are the SQL types of their columns, keys then the three counts; ``run`` executes a
    statement the way the caller's are (rollup_reads' serial plan) and returns its rows. The kept
    rows travel as arrays and come out only while the token they were read at stands; a
    statement using the part selects ``TOKEN_COLUMN`` and asks ``stood``.
    """
    sql = " UNION ALL ".join(part_sql for part_sql, _ in parts)
    params = [param for _, part_params in parts for param in part_params]
    key = hashlib.sha256(f"{sql}\x00{params!r}".encode()).hexdigest()
    cache = caches[CACHE]
    kept = cache.get(key)
    if kept is None:
        kept = _read(sql, params, len(types) - 3, run)
        if kept is None:  # no version row (a database being set up): nothing can be kept
            return Part(sql, params)
        cache.set(key, kept, _KEPT_SECONDS)
    token, columns = kept
    keys = [f"k{i}" for i in range(len(types) - 3)]
    # Grouping compares the other parts' text keys byte-wise (COLLATE "C"), so these too.
    selected = [
        f'{k} COLLATE "C"' if kind == "text" else k for k, kind in zip(keys, types, strict=False)
    ]
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    guarded = (
        f"SELECT {', '.join([*selected, 'c', 'u', 'q'])}"
        f" FROM unnest({arrays}) AS kept ({', '.join([*keys, 'c', 'u', 'q'])})"
        f" WHERE EXISTS ({_TOKEN} AND token = %s)"
    )
    return Part(guarded, [*columns, token], key, token, columns[-1] != "{}")


def stood(used: Part, rows: list[tuple]) -> bool:
    """Whether a statement's ``rows`` (``TOKEN_COLUMN`` last) counted what ``used`` kept.

    Not when it saw another token: the kept rows were left out, and are forgotten so they are
    read again. Nor when it returned nothing although something was kept: the token changed.
    """
    if used.key is None:
        return True
    counted = rows[0][-1] == used.token if rows else not used.nonempty
    if not counted:
        caches[CACHE].delete(used.key)
    return counted


def _read(
    sql: str, params: list, width: int, run: Callable[[str, list], list[tuple]]
) -> tuple[UUID, list[str]] | None:
    """The rows of ``sql`` summed per key, as one array (its text) per column, and the token
    they were read at, in one statement (so in one snapshot)."""
    keys = [f"k{i}" for i in range(width)]
    sums = ["sum(c)::bigint AS c", "sum(u)::bigint AS u", "sum(q)::bigint AS q"]
    group_by = f" GROUP BY {', '.join(keys)}" if keys else ""
    # Each column as PostgreSQL's array text, which the part hands back as one parameter: a
    # city breakdown's 2,000 values dumped by psycopg element by element took longer than the
    # statement.
    aggregates = ", ".join(f"array_agg({name})::text" for name in [*keys, "c", "u", "q"])
    statement = (
        f"SELECT ({_TOKEN}), {aggregates} FROM (SELECT {', '.join([*keys, *sums])}"
        # HAVING: no rows rather than one row of NULL sums when nothing matches without keys.
        f" FROM ({sql}) AS closed{group_by} HAVING count(*) > 0) AS summed"
    )
    token, *columns = run(statement, params)[0]
    if token is None:
        return None
    return token, [column or "{}" for column in columns]
