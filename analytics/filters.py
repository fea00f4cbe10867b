"""What a dashboard, API or export query string means: one parser, so they can never disagree.

Parameters: ``range`` (a preset of analytics.periods, or custom with ``from``/``to`` dates,
inclusive), ``tz`` (IANA zone; old names such as Asia/Calcutta read as the current one),
``bots`` (exclude, include), ``bucket`` (the time series' hour, day, week or month; chosen from
the range when absent) and per dimension ``country=US`` ("is", repeatable) or ``country!=US``
("is not"; rows whose country is unknown are kept). An empty value means "unknown":
``country=`` matches clicks with no country.

``campaign`` values are canonical campaign ids (analytics.campaigns): a click or rollup row keeps
its sender campaign, and the condition reaches the canonical level through the campaign table.
``sender_campaign=<id>`` ("is", repeatable) filters by the sender campaign itself.
"""

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Min, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from analytics import periods
from analytics.bot_reasons import BotReason
from analytics.models import Campaign, CanonicalCampaign, Click, Device, Sender
from analytics.periods import BUCKETS, EARLIEST_DAY, PRESETS
from analytics.senders.normalize import CONTINENT_OF
from analytics.timeutil import canonical_zone


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

DEFAULT_RANGE = "30d"
BOTS = ("exclude", "include")
SENDER_CAMPAIGN = "sender_campaign"
# How much of a refused value a message repeats: enough to recognise it, never a wall of text.
SHOWN_CHARACTERS = 60
FILTER_CHOICES = {
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
    # The period compared with (analytics.periods); None for "all time".
    previous_start: datetime | None = None
    previous_end: datetime | None = None
    custom_from: date | None = None
    custom_to: date | None = None
    # sender_campaign=<id>: sender campaign ids, one level below the canonical ``campaign``.
    sender_campaigns: tuple[str, ...] = ()
    # bucket=: the time series' granularity the viewer chose; '' lets the range decide.
    chosen_bucket: str = ""
    # The moment the filter was read at: it ends the last, partial bucket of the time series.
    now: datetime | None = field(default=None, compare=False)

    @classmethod
    def from_query(cls, params: QueryDict, now: datetime | None = None) -> "ClickFilter":
        now = now or timezone.now()
        tz = _zone(params.get("tz") or settings.DASHBOARD_TIME_ZONE)
        preset = params.get("range") or DEFAULT_RANGE
        if preset not in PRESETS:
            raise FilterError(f"range must be one of {', '.join(PRESETS)}, got {shown(preset)}.")
        bots = params.get("bots") or "exclude"
        if bots not in BOTS:
            raise FilterError(f"bots must be exclude or include, got {shown(bots)}.")
        include, exclude = _dimension_filters(params)
        sender_campaigns = tuple(dict.fromkeys(v.strip() for v in params.getlist(SENDER_CAMPAIGN)))
        _validate(SENDER_CAMPAIGN, sender_campaigns)
        _check_campaigns_exist(include, exclude, sender_campaigns)
        local_now = now.astimezone(tz)
        custom_from = custom_to = None
        if preset == "custom":
            custom_from, custom_to = _custom_dates(params, local_now.date())
        start, end, previous_start, previous_end = periods.period(
            preset, local_now, custom_from, custom_to, _earliest_day(preset, tz, local_now.date())
        )
        chosen_bucket = _bucket(params.get("bucket") or "", end - start)
        return cls(
            range=preset,
            start=start,
            end=end,
            tz=tz,
            bots=bots,
            include=include,
            exclude=exclude,
            previous_start=previous_start,
            previous_end=previous_end,
            custom_from=custom_from,
            custom_to=custom_to,
            sender_campaigns=sender_campaigns,
            chosen_bucket=chosen_bucket,
            now=now,
        )

    @property
    def label(self) -> str:
        if self.range == "custom" and self.custom_from == self.custom_to:
            return f"{self.custom_from:%b %-d, %Y}"
        if self.range == "custom":
            return f"{self.custom_from:%b %-d, %Y} to {self.custom_to:%b %-d, %Y}"
        return PRESETS[self.range]

    @property
    def bucket(self) -> str:
        """Chart granularity: the viewer's choice, else the one the period's length suits."""
        return self.chosen_bucket or periods.default_bucket(self.end - self.start)

    @property
    def buckets(self) -> list[str]:
        """The buckets this period may be drawn in (bucket= takes only these)."""
        return periods.allowed_buckets(self.end - self.start)

    def steps(self) -> dict[str, dict[str, str] | None]:
        """The ranges of the same length before and after this one, for the arrows."""
        today = (self.now or timezone.now()).astimezone(self.tz).date()
        return periods.steps(self.range, today, self.custom_from, self.custom_to)

    def previous(self) -> "ClickFilter | None":
        if self.previous_start is None:
            return None
        return replace(
            self,
            start=self.previous_start,
            end=self.previous_end or self.start,
            previous_start=None,
            previous_end=None,
        )

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

    def dimension_key(self) -> tuple:
        """What dimension_q depends on, hashable (to key compiled SQL by)."""
        return (
            tuple(sorted(self.include.items())),
            tuple(sorted(self.exclude.items())),
            self.sender_campaigns,
        )

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
        if self.chosen_bucket:
            params.append(("bucket", self.chosen_bucket))
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
            "bucket": self.chosen_bucket,
            "filters": filters,
        }


def shown(value: str) -> str:
    """A refused value as a message quotes it: typographic quotes, at most SHOWN_CHARACTERS
    (an ellipsis says the rest was cut), "an empty value" for ''. Pages escape it as any text."""
    if value == "":
        return "an empty value"
    if len(value) > SHOWN_CHARACTERS:
        value = value[: SHOWN_CHARACTERS - 1] + "\u2026"
    return f"\u201c{value}\u201d"


def _zone(name: str) -> ZoneInfo:
    try:
        if len(name) > 100:  # longer than any zone name, and than a file name may be
            raise ValueError(name)
        return ZoneInfo(canonical_zone(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FilterError(
            f"tz must be an IANA time zone such as Europe/Berlin, got {shown(name)}."
        ) from None


def _date(params: QueryDict, key: str) -> date:
    value = params.get(key, "")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{key} must be a date as YYYY-MM-DD, got {shown(value)}.") from None


def _custom_dates(params: QueryDict, today: date) -> tuple[date, date]:
    """from and to of a custom range, within EARLIEST_DAY and tomorrow (a viewer whose zone is
    ahead of the server's may already be on the next day)."""
    custom_from, custom_to = _date(params, "from"), _date(params, "to")
    latest = today + timedelta(days=1)
    if custom_from < EARLIEST_DAY:
        raise FilterError(f"from must be on or after {EARLIEST_DAY.isoformat()}.")
    if custom_to > latest:
        raise FilterError(
            f"to must be on or before {latest.isoformat()}: no clicks come from the future."
        )
    if custom_to < custom_from:
        raise FilterError("to must be on or after from.")
    return custom_from, custom_to


def _bucket(value: str, length: timedelta) -> str:
    if value and value not in BUCKETS:
        raise FilterError(f"bucket must be one of {', '.join(BUCKETS)}, got {shown(value)}.")
    if value and value not in periods.allowed_buckets(length):
        limit = periods.BUCKET_LIMIT_TEXT[value]
        raise FilterError(
            f"bucket={value} would draw too many points: use it for ranges up to {limit}, "
            "or pick a longer bucket."
        )
    return value


def _earliest_day(preset: str, tz: ZoneInfo, today: date) -> date:
    """The first day of "all time": the first click's (a month back while there is none)."""
    if preset != "all":
        return today
    earliest = Click.objects.aggregate(first=Min("occurred_at"))["first"]
    return earliest.astimezone(tz).date() if earliest else today - timedelta(days=29)


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
        if key == "campaign" and value and not _is_id(value):
            raise FilterError(f"campaign must be a campaign id (a number), got {shown(value)}.")
        if key == SENDER_CAMPAIGN and not _is_id(value):
            raise FilterError(f"{key} must be a sender campaign id (a number), got {shown(value)}.")
        if key == "country" and value and value not in CONTINENT_OF:
            raise FilterError(
                "country must be a two-letter ISO 3166-1 code such as US or DE (or empty for "
                f"unknown), got {shown(value)}."
            )
        if key in FILTER_CHOICES and value not in FILTER_CHOICES[key]:
            choices = ", ".join(sorted(v for v in FILTER_CHOICES[key] if v))
            if "" in FILTER_CHOICES[key]:
                choices += " or empty for unknown"
            raise FilterError(f"{key} must be one of {choices}, got {shown(value)}.")
        if len(value) > 255:
            raise FilterError(f"{key} values are at most 255 characters long.")
        if "\x00" in value:
            raise FilterError(f"{key} values cannot contain NUL characters.")


def _is_id(value: str) -> bool:
    # 18 digits fit a bigint: a longer number cannot be an id, and would overflow the query.
    return value.isascii() and value.isdigit() and len(value) <= 18


def _check_campaigns_exist(
    include: dict[str, tuple[str, ...]],
    exclude: dict[str, tuple[str, ...]],
    sender_campaigns: tuple[str, ...],
) -> None:
    """Campaign ids name existing campaigns: a stale or mistyped id would filter to nothing."""
    wanted = {int(v) for v in (*include.get("campaign", ()), *exclude.get("campaign", ())) if v}
    if wanted:
        found = set(CanonicalCampaign.objects.filter(id__in=wanted).values_list("id", flat=True))
        if missing := sorted(wanted - found):
            raise FilterError(f"campaign {missing[0]} does not exist (or no longer does).")
    wanted = {int(v) for v in sender_campaigns}
    if wanted:
        found = set(Campaign.objects.filter(id__in=wanted).values_list("id", flat=True))
        if missing := sorted(wanted - found):
            raise FilterError(f"sender_campaign {missing[0]} does not exist (or no longer does).")


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
