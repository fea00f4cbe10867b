"""What each dashboard answer is, as SQL for chDB and DuckDB over one flat table of clicks.

Written from analytics.filters, analytics.periods and analytics.stats without importing them, so
the anchor checks the API instead of repeating it: periods in the viewer's zone ("24h" rolling,
the others whole local days up to the end of today, "12m" this month and the 11 before), the
previous period of the same length (months shifted for "12m"), bots left out except in the
summary's bot count, unique = is_unique, the campaign filter and breakdown on the canonical
campaign, breakdowns ordered by clicks then value (no campaign last) with totals, time series
buckets of the viewer's local hours, days or months.

The table (bench_anchor loads it): occurred_at (UTC instant, µs), is_bot, is_unique, is_qr,
campaign_id, canonical_id (the sender campaign's canonical campaign, joined at export), and the
text dimensions, '' for unknown as in analytics_click.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Month arithmetic is the app's (stdlib only): the anchor checks the aggregates, not the calendar.
from analytics.periods import shift_months

# Breakdown dimension -> column of the flat table: campaigns are counted per canonical campaign.
COLUMNS = {"campaign": "canonical_id", "country": "country", "device": "device",
           "referer": "referer", "sender": "sender", "browser": "browser", "os": "os",
           "city": "city"}  # fmt: skip
_DAYS = {"7d": 7, "30d": 30, "90d": 90}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A page's periods as UTC instants, and the chart bucket the period's length gets."""

    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    tz: ZoneInfo

    @property
    def bucket(self) -> str:
        # analytics.periods.default_bucket: hour up to 2 days, day up to 92, week to 200.
        length = self.end - self.start
        if length <= timedelta(days=2, hours=1):
            return "hour"
        if length <= timedelta(days=92):
            return "day"
        return "week" if length <= timedelta(days=200) else "month"


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def window(range_: str, now: datetime, tz: ZoneInfo) -> Window:
    """The periods of a preset read at ``now`` (the API reads its own clock per request)."""
    if range_ == "24h":
        day = timedelta(hours=24)
        return Window(now - day, now, now - 2 * day, now - day, tz)
    today = now.astimezone(tz).date()
    after = today + timedelta(days=1)
    if range_ == "12m":
        first = shift_months(today.replace(day=1), -11)
        before = (shift_months(first, -12), shift_months(after, -12))
    else:
        length = timedelta(days=_DAYS[range_])
        first = after - length
        before = (first - length, first)
    days = (first, after, *before)
    return Window(*(_midnight(d, tz) for d in days), tz=tz)


def bucket_starts(start: datetime, end: datetime, tz: ZoneInfo, bucket: str) -> list[datetime]:
    """Naive local starts of the buckets overlapping [start, end). Local hours step by an hour of
    wall time, which is exact in a zone without daylight saving time (the bench's Asia/Kolkata)."""
    local, local_end = start.astimezone(tz).replace(tzinfo=None), end.astimezone(tz)
    local_end = local_end.replace(tzinfo=None)
    if bucket == "hour":
        moment, step = local.replace(minute=0, second=0, microsecond=0), timedelta(hours=1)
    else:
        moment = datetime.combine(local.date(), time())
        if bucket == "month":
            moment = moment.replace(day=1)
        elif bucket == "week":
            moment -= timedelta(days=moment.weekday())
        step = timedelta(days=7 if bucket == "week" else 1)
    starts = []
    while moment < local_end:
        starts.append(moment)
        if bucket == "month":
            moment = datetime.combine(shift_months(moment.date(), 1), time())
        else:
            moment += step
    return starts


def micros(moment: datetime) -> int:
    """An instant as integer microseconds since the epoch: exact, unlike a float."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class Dialect(ABC):
    """The few spellings chDB and DuckDB do not share."""

    name = ""

    @abstractmethod
    def count_if(self, condition: str) -> str:
        """An aggregate counting the rows where ``condition`` holds."""

    @abstractmethod
    def instant(self, moment: datetime) -> str:
        """A UTC timestamp literal."""

    @abstractmethod
    def local_bucket(self, bucket: str, tz: str) -> str:
        """The naive local start of occurred_at's bucket, as date_trunc on local time names it."""

    def where(self, filters: dict[str, str]) -> str:
        """The filter's conditions as analytics.filters reads key=value (an "is" condition):
        campaign is a canonical id ('' = no campaign), other values equal the column."""
        sql = ""
        for key, value in filters.items():
            if key == "campaign":
                sql += f" AND canonical_id = {int(value)}" if value else " AND campaign_id IS NULL"
            else:
                sql += f" AND {COLUMNS[key]} = {_literal(value)}"
        return sql

    def periods(self, w: Window) -> str:
        """Both periods: for "12m" the previous one ends before the current one starts."""
        current = f"occurred_at >= {self.instant(w.start)} AND occurred_at < {self.instant(w.end)}"
        before = (
            f"occurred_at >= {self.instant(w.previous_start)}"
            f" AND occurred_at < {self.instant(w.previous_end)}"
        )
        return f"(({current}) OR ({before}))"


class ClickHouse(Dialect):
    name = "chDB"

    def count_if(self, condition: str) -> str:
        return f"countIf({condition})"

    def instant(self, moment: datetime) -> str:
        return f"fromUnixTimestamp64Micro({micros(moment)}, 'UTC')"

    def local_bucket(self, bucket: str, tz: str) -> str:
        local = f"toTimeZone(occurred_at, {_literal(tz)})"
        if bucket == "hour":
            return f"toString(toStartOfHour({local}))"
        if bucket == "day":
            return f"toString(toStartOfDay({local}))"
        if bucket == "week":
            return f"toString(toMonday({local}))"
        return f"toString(toStartOfMonth({local}))"


class DuckDB(Dialect):
    name = "DuckDB"

    def count_if(self, condition: str) -> str:
        return f"count_if({condition})"

    def instant(self, moment: datetime) -> str:
        return f"make_timestamptz({micros(moment)})"

    def local_bucket(self, bucket: str, tz: str) -> str:
        return f"date_trunc('{bucket}', timezone({_literal(tz)}, occurred_at))"


def summary_sql(d: Dialect, w: Window, filters: dict[str, str]) -> str:
    """Clicks, unique, bots and QR of both periods in one scan (bots whatever the bot rule)."""
    figures = []
    for current in (True, False):
        when = f"occurred_at {'>=' if current else '<'} {d.instant(w.start)}"
        figures += [
            d.count_if(f"{when} AND NOT is_bot"),
            d.count_if(f"{when} AND NOT is_bot AND is_unique"),
            d.count_if(f"{when} AND is_bot"),
            d.count_if(f"{when} AND NOT is_bot AND is_qr"),
        ]
    return f"SELECT {', '.join(figures)} FROM clicks WHERE {d.periods(w)}{d.where(filters)}"


def timeseries_sql(d: Dialect, w: Window, filters: dict[str, str]) -> str:
    """Clicks and unique per local bucket of each period (the caller fills empty buckets)."""
    current = f"occurred_at >= {d.instant(w.start)}"
    return f"""
        SELECT {current} AS is_current, {d.local_bucket(w.bucket, w.tz.key)} AS t, count(*),
               {d.count_if("is_unique")}
        FROM clicks WHERE {d.periods(w)} AND NOT is_bot{d.where(filters)}
        GROUP BY is_current, t"""


def breakdown_sql(d: Dialect, w: Window, filters: dict[str, str], dim: str, limit: int) -> str:
    """Top ``limit`` values by clicks then value (no campaign last), with the totals of all."""
    column = COLUMNS[dim]
    period = f"occurred_at >= {d.instant(w.start)} AND occurred_at < {d.instant(w.end)}"
    return f"""
        SELECT {column} AS v, count(*) AS clicks, {d.count_if("is_unique")} AS u,
               sum(count(*)) OVER (), sum({d.count_if("is_unique")}) OVER ()
        FROM clicks WHERE {period} AND NOT is_bot{d.where(filters)}
        GROUP BY v ORDER BY clicks DESC, v ASC NULLS LAST LIMIT {limit}"""
