"""What a dashboard, API or export query string means: one parser, so they can never disagree.

Parameters: ``range`` (24h, 7d, 30d, 90d, 12m, all, custom with ``from``/``to`` dates, inclusive),
``tz`` (IANA zone), ``bots`` (exclude, include) and per dimension ``country=US`` ("is", repeatable)
or ``country!=US`` ("is not"; rows whose country is unknown are kept). An empty value means
"unknown": ``country=`` matches clicks with no country.

``campaign`` values are canonical campaign ids (analytics.campaigns): a click or rollup row keeps
its sender campaign, and the condition reaches the canonical level through the campaign table.
``sender_campaign=<id>`` ("is", repeatable) filters by the sender campaign itself.
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Min, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from analytics.bot_reasons import BotReason
from analytics.models import Campaign, Click, Device, Sender


class FilterError(ValueError):
    """A query parameter that cannot be understood; the message names it."""


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    column: str
    # This dimension's bit in Rollup.dims, the stored name of every rollup set. Stored in every
    # rollup row: never renumber (that needs a migration that rebuilds the rollups); a new
    # dimension takes the next unused bit. tests/test_rollup_bits.py pins them.
    rollup_bit: int
    chart: str = "bar"


# The order is the display order (filters, breakdowns, exports); the rollup bits do not follow it.
DIMENSIONS = {
    d.key: d
    for d in (
        Dimension("campaign", "Campaign", "campaign_id", rollup_bit=0),
        Dimension("country", "Country", "country", rollup_bit=1),
        Dimension("device", "Device", "device", rollup_bit=2, chart="doughnut"),
        Dimension("referer", "Referer", "referer", rollup_bit=3),
        Dimension("sender", "Sender", "sender", rollup_bit=4, chart="doughnut"),
        Dimension("browser", "Browser", "browser", rollup_bit=5),
        Dimension("os", "OS", "os", rollup_bit=6),
        Dimension("city", "City", "city", rollup_bit=7),
        # Why a click counts as a machine's ('' for a person, analytics.bots). Its breakdown
        # counts bots whatever the bot rule, and filtering by a reason includes them.
        Dimension("bot_reason", "Bots and scanners", "bot_reason", rollup_bit=8, chart="doughnut"),
    )
}

PRESETS = {
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "12m": "Last 12 months",
    "all": "All time",
    "custom": "Custom range",
}
DEFAULT_RANGE = "30d"
BOTS = ("exclude", "include")
SENDER_CAMPAIGN = "sender_campaign"
_DAYS = {"7d": 7, "30d": 30, "90d": 90}
_CHOICES = {
    "sender": set(Sender.values),
    "device": set(Device.values),
    "bot_reason": set(BotReason.values),
}


@dataclass(frozen=True)
class ClickFilter:
    range: str
    start: datetime
    end: datetime
    tz: ZoneInfo
    bots: str = "exclude"
    include: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The period before, of the same length, for comparisons; None for "all time".
    previous_start: datetime | None = None
    custom_from: date | None = None
    custom_to: date | None = None
    # sender_campaign=<id>: sender campaign ids, one level below the canonical ``campaign``.
    sender_campaigns: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: QueryDict, now: datetime | None = None) -> "ClickFilter":
        now = now or timezone.now()
        tz = _zone(params.get("tz") or settings.DASHBOARD_TIME_ZONE)
        preset = params.get("range") or DEFAULT_RANGE
        if preset not in PRESETS:
            raise FilterError(f"range must be one of {', '.join(PRESETS)}, got {preset!r}.")
        bots = params.get("bots") or "exclude"
        if bots not in BOTS:
            raise FilterError(f"bots must be 'exclude' or 'include', got {bots!r}.")
        include, exclude = _dimension_filters(params)
        sender_campaigns = tuple(dict.fromkeys(v.strip() for v in params.getlist(SENDER_CAMPAIGN)))
        _validate(SENDER_CAMPAIGN, sender_campaigns)
        custom_from = custom_to = None
        if preset == "custom":
            custom_from, custom_to = _date(params, "from"), _date(params, "to")
            if custom_to < custom_from:
                raise FilterError("to must be on or after from.")
        start, end, previous_start = _period(preset, now.astimezone(tz), custom_from, custom_to)
        return cls(
            range=preset,
            start=start,
            end=end,
            tz=tz,
            bots=bots,
            include=include,
            exclude=exclude,
            previous_start=previous_start,
            custom_from=custom_from,
            custom_to=custom_to,
            sender_campaigns=sender_campaigns,
        )

    @property
    def label(self) -> str:
        if self.range == "custom":
            return f"{self.custom_from:%b %-d, %Y} to {self.custom_to:%b %-d, %Y}"
        return PRESETS[self.range]

    @property
    def bucket(self) -> str:
        """Chart granularity: hour up to 2 days, day up to 90 days, then week, then month."""
        span = self.end - self.start
        if span <= timedelta(days=2, hours=1):
            return "hour"
        if span <= timedelta(days=92):
            return "day"
        if span <= timedelta(days=200):
            return "week"
        return "month"

    def previous(self) -> "ClickFilter | None":
        if self.previous_start is None:
            return None
        return replace(self, start=self.previous_start, end=self.start, previous_start=None)

    def dimension_q(self) -> Q:
        """The dimension conditions, without the time range and the bot rule."""
        q = Q()
        for key, values in self.include.items():
            q &= _values_q(key, values)
        for key, values in self.exclude.items():
            # A negated NOT NULL text column keeps '' rows; for the campaign FK, Django's
            # exclude() keeps NULL rows too, unlike a bare SQL NOT IN.
            q &= ~_values_q(key, values)
        if self.sender_campaigns:
            q &= Q(campaign_id__in=[int(v) for v in self.sender_campaigns])
        return q

    def filtered_dimensions(self) -> set[str]:
        """The dimensions whose columns the filter reads (a rollup set must hold them)."""
        return (
            set(self.include)
            | set(self.exclude)
            | ({"campaign"} if self.sender_campaigns else set())
        )

    def time_q(self) -> Q:
        return Q(occurred_at__gte=self.start, occurred_at__lt=self.end)

    @property
    def counts_bots(self) -> bool:
        """Bots are counted: asked for, or a bot reason is filtered on (which names them)."""
        return self.bots == "include" or any(self.include.get("bot_reason", ()))

    def bot_q(self) -> Q:
        return Q() if self.counts_bots else Q(is_bot=False)

    def clicks(self) -> QuerySet[Click]:
        """The clicks this filter selects: period, dimensions and bot rule."""
        return Click.objects.filter(self.time_q() & self.dimension_q() & self.bot_q())

    def params(self) -> list[tuple[str, str]]:
        """The query parameters that reproduce this filter, in a stable order."""
        params = [("range", self.range)]
        if self.range == "custom":
            params += [("from", self.custom_from.isoformat()), ("to", self.custom_to.isoformat())]
        params.append(("tz", self.tz.key))
        if self.bots != "exclude":
            params.append(("bots", self.bots))
        for key in DIMENSIONS:
            params += [(key, value) for value in self.include.get(key, ())]
            params += [(f"{key}!", value) for value in self.exclude.get(key, ())]
        params += [(SENDER_CAMPAIGN, value) for value in self.sender_campaigns]
        return params

    def querystring(self, **overrides: str) -> str:
        params = [(key, value) for key, value in self.params() if key not in overrides]
        return urlencode(params + list(overrides.items()))

    def with_value(self, dimension: str, value: str) -> str:
        """The query string of this filter narrowed to ``dimension`` = ``value``."""
        params = self.params()
        if value not in self.include.get(dimension, ()):
            params.append((dimension, value))
        return urlencode(params)

    def state(self) -> dict[str, object]:
        """The filter as the dashboard's JavaScript reads it."""
        filters = {
            key: {"is": list(self.include.get(key, ())), "not": list(self.exclude.get(key, ()))}
            for key in DIMENSIONS
            if key in self.include or key in self.exclude
        }
        return {
            "range": self.range,
            "from": self.custom_from.isoformat() if self.custom_from else "",
            "to": self.custom_to.isoformat() if self.custom_to else "",
            "tz": self.tz.key,
            "bots": self.bots,
            "filters": filters,
        }


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FilterError(
            f"tz must be an IANA time zone such as Europe/Berlin, got {name!r}."
        ) from None


def _date(params: QueryDict, key: str) -> date:
    value = params.get(key, "")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{key} must be a date as YYYY-MM-DD, got {value!r}.") from None


def _dimension_filters(
    params: QueryDict,
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    include, exclude = {}, {}
    for key in DIMENSIONS:
        for target, name in ((include, key), (exclude, f"{key}!")):
            values = tuple(dict.fromkeys(v.strip() for v in params.getlist(name)))
            if not values:
                continue
            _validate(key, values)
            target[key] = values
    return include, exclude


def _validate(key: str, values: tuple[str, ...]) -> None:
    for value in values:
        if key == "campaign" and value and not value.isdigit():
            raise FilterError(f"campaign must be a campaign id (a number), got {value!r}.")
        if key == SENDER_CAMPAIGN and not (value.isascii() and value.isdigit()):
            raise FilterError(f"{key} must be a sender campaign id (a number), got {value!r}.")
        if key in _CHOICES and value not in _CHOICES[key]:
            choices = ", ".join(sorted(v or "''" for v in _CHOICES[key]))
            raise FilterError(f"{key} must be one of {choices}, got {value!r}.")
        if len(value) > 255:
            raise FilterError(f"{key} values are at most 255 characters long.")
        if "\x00" in value:
            raise FilterError(f"{key} values cannot contain NUL characters.")


def _values_q(key: str, values: tuple[str, ...]) -> Q:
    column = DIMENSIONS[key].column
    known = [v for v in values if v]
    if key == "campaign":
        # Canonical ids: the sender campaigns they hold, by a subquery in the same statement,
        # so rollup rows and clicks (which keep the sender campaign) are filtered alike.
        held = Campaign.objects.filter(canonical_id__in=known).values("id")
        q = Q(campaign_id__in=held) if known else Q(pk__in=[])
        return q | Q(campaign_id__isnull=True) if "" in values else q
    q = Q(**{f"{column}__in": known}) if known else Q(pk__in=[])
    if "" in values:
        q |= Q(**{column: ""})
    return q


def _period(
    preset: str, now: datetime, custom_from: date | None, custom_to: date | None
) -> tuple[datetime, datetime, datetime | None]:
    """(start, end, previous start) in the viewer's zone; day-based periods follow its calendar."""
    tz = now.tzinfo
    today = now.date()
    if preset == "24h":
        return now - timedelta(hours=24), now, now - timedelta(hours=48)
    if preset in _DAYS:
        days = _DAYS[preset]
        first = today - timedelta(days=days - 1)
        return (
            _midnight(first, tz),
            _midnight(today + timedelta(days=1), tz),
            _midnight(first - timedelta(days=days), tz),
        )
    if preset == "12m":
        first = _add_months(today.replace(day=1), -11)
        end = _add_months(today.replace(day=1), 1)
        return _midnight(first, tz), _midnight(end, tz), _midnight(_add_months(first, -12), tz)
    if preset == "custom":
        days = (custom_to - custom_from).days + 1
        start = _midnight(custom_from, tz)
        end = _midnight(custom_to + timedelta(days=1), tz)
        return start, end, _midnight(custom_from - timedelta(days=days), tz)
    # All time: from the first click's day (or a month back on an empty database).
    earliest = Click.objects.aggregate(first=Min("occurred_at"))["first"]
    first_day = earliest.astimezone(tz).date() if earliest else today - timedelta(days=29)
    return _midnight(first_day, tz), _midnight(today + timedelta(days=1), tz), None


def _midnight(day: date, tz: object) -> datetime:
    # Round-trip through UTC so a midnight that a DST jump skips becomes the next real instant.
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC).astimezone(tz)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)
