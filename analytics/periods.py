"""Date-range arithmetic for the filter: what a preset covers, the period it is compared with,
the periods before and after it (the dashboard's arrows), and which chart buckets fit it.

Every range is whole days of the viewer's zone ending at most at the end of today ("24h" aside),
so no range reaches into the future and the current day, month or year is a partial one.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

# The oldest day a custom range may start on: older dates are typing mistakes, not data.
EARLIEST_DAY = date(2000, 1, 1)

PRESETS = {
    "24h": "Last 24 hours",
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "month": "This month",
    "last_month": "Last month",
    "90d": "Last 90 days",
    "12m": "Last 12 months",
    "ytd": "Year to date",
    "all": "All time",
    "custom": "Custom range",
}
_DAYS = {"7d": 7, "30d": 30, "90d": 90}

BUCKETS = ("hour", "day", "week", "month")
# The longest period each bucket may draw: about 750 hours, 2 years of days, 10 years of weeks.
# The extra hour is a 25-hour day when daylight saving time ends.
BUCKET_LIMITS = {
    "hour": timedelta(days=31, hours=1),
    "day": timedelta(days=732, hours=1),
    "week": timedelta(days=3653, hours=1),
    "month": None,
}
BUCKET_LIMIT_TEXT = {"hour": "31 days", "day": "2 years", "week": "10 years"}


@dataclass(frozen=True)
class Span:
    """The local days a range covers, both included, and its length in whole months if it is
    month-aligned (shifted by months, so "this month" compares with the same days of the last)."""

    first: date
    last: date
    months: int = 0

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def span(preset: str, today: date, custom_from: date | None, custom_to: date | None) -> Span:
    """The days of a preset ("24h" counts as today, "all" is not a span)."""
    month_start = today.replace(day=1)
    if preset in ("today", "24h"):
        return Span(today, today)
    if preset == "yesterday":
        return Span(today - timedelta(days=1), today - timedelta(days=1))
    if preset in _DAYS:
        return Span(today - timedelta(days=_DAYS[preset] - 1), today)
    if preset == "month":
        return Span(month_start, today, months=1)
    if preset == "last_month":
        return Span(shift_months(month_start, -1), month_start - timedelta(days=1), months=1)
    if preset == "ytd":
        return Span(today.replace(month=1, day=1), today, months=12)
    if preset == "12m":
        # Plausible's "last 12 months": this partial month and the 11 before it.
        return Span(shift_months(month_start, -11), today, months=12)
    assert custom_from is not None and custom_to is not None
    after = custom_to + timedelta(days=1)
    if custom_from.day == 1 and after.day == 1:
        months = (after.year - custom_from.year) * 12 + after.month - custom_from.month
        return Span(custom_from, custom_to, months=months)
    return Span(custom_from, custom_to)


def period(
    preset: str, now: datetime, custom_from: date | None, custom_to: date | None, earliest: date
) -> tuple[datetime, datetime, datetime | None, datetime | None]:
    """(start, end, previous start, previous end) in the viewer's zone."""
    tz = now.tzinfo
    if preset == "24h":
        return now - timedelta(hours=24), now, now - timedelta(hours=48), now - timedelta(hours=24)
    today = now.date()
    if preset == "all":
        return midnight(earliest, tz), midnight(today + timedelta(days=1), tz), None, None
    days = span(preset, today, custom_from, custom_to)
    after = days.last + timedelta(days=1)
    if days.months and preset != "custom":  # a custom range compares with as many days before
        before = (shift_months(days.first, -days.months), shift_months(after, -days.months))
    else:
        before = (days.first - timedelta(days=days.days), after - timedelta(days=days.days))
    return (
        midnight(days.first, tz),
        midnight(after, tz),
        midnight(before[0], tz),
        midnight(before[1], tz),
    )


def steps(
    preset: str, today: date, custom_from: date | None, custom_to: date | None
) -> dict[str, dict[str, str] | None]:
    """The custom ranges of the same length just before and just after this one; None where
    there is none (all time, before EARLIEST_DAY, starting after today)."""
    if preset == "all":
        return {"previous": None, "next": None}
    days = span(preset, today, custom_from, custom_to)
    if days.months:
        # Whole months: the step before "this month" is all of last month.
        first_before = shift_months(days.first, -days.months)
        before = Span(first_before, days.first - timedelta(days=1))
        first_after = shift_months(days.first, days.months)
        after = Span(first_after, shift_months(first_after, days.months) - timedelta(days=1))
    else:
        length = timedelta(days=days.days)
        before = Span(days.first - length, days.last - length)
        after = Span(days.first + length, days.last + length)
    return {
        "previous": _range(before) if before.first >= EARLIEST_DAY else None,
        "next": _range(Span(after.first, min(after.last, today))) if after.first <= today else None,
    }


def _range(days: Span) -> dict[str, str]:
    return {"range": "custom", "from": days.first.isoformat(), "to": days.last.isoformat()}


def default_bucket(length: timedelta) -> str:
    """Chart granularity: hour up to 2 days, day up to 92 days, then week, then month."""
    if length <= timedelta(days=2, hours=1):
        return "hour"
    if length <= timedelta(days=92):
        return "day"
    if length <= timedelta(days=200):
        return "week"
    return "month"


def allowed_buckets(length: timedelta) -> list[str]:
    """The buckets that draw a readable number of points for a period of this length."""
    return [b for b in BUCKETS if BUCKET_LIMITS[b] is None or length <= BUCKET_LIMITS[b]]


def midnight(day: date, tz: object) -> datetime:
    # Round-trip through UTC so a midnight that a DST jump skips becomes the next real instant.
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC).astimezone(tz)


def shift_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier); a day the month lacks (Feb 30) becomes the
    first of the month after, so a shifted exclusive end still covers whole days."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    try:
        return day.replace(year=year, month=month)
    except ValueError:
        return date(year + month // 12, month % 12 + 1, 1)
