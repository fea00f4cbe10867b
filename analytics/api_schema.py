"""OpenAPI descriptions of the API: the filter parameters every endpoint takes, response shapes.

The stats views return plain dicts from analytics.stats; the serializers here only describe those
dicts for drf-spectacular and are never used to render them.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from analytics.bot_reasons import BotReason
from analytics.filters import BOTS, DEFAULT_RANGE, DIMENSIONS, PRESETS, SENDER_CAMPAIGN
from analytics.models import Device, Sender
from analytics.panels import BREAKDOWNS, PANELS
from analytics.periods import BUCKETS

_DIMENSION_HELP = {
    "campaign": "campaign id (a number, see /api/campaigns/): a marketer's unified campaign or "
    "a sender campaign on its own",
    "country": "ISO 3166-1 alpha-2 code such as US",
    "device": "device type",
    "referer": "referring domain, or (direct)",
    "sender": "webhook sender",
    "browser": "browser name",
    "os": "operating system name",
    "city": "city name",
    "bot_reason": "why a click counts as a bot's, empty for people (needs bots=include)",
}
_DIMENSION_ENUMS = {
    "sender": list(Sender.values),
    "device": list(Device.values),
    "bot_reason": list(BotReason.values),
}


# Every click has a sender, so the sender filter has no "unknown" value (an empty one is a 400).
_ALWAYS_KNOWN = {"sender"}


def _dimension_description(key: str, negated: bool) -> str:
    label, what = DIMENSIONS[key].label, _DIMENSION_HELP[key]
    known = key in _ALWAYS_KNOWN
    if negated:
        text = f"{label} is not this value ({what}); repeat the parameter for several values "
        text += "(none of them matches)."
        if not known:
            text += " Clicks whose value is unknown are kept unless the empty value is given."
    else:
        text = f"{label} is this value ({what}); repeat the parameter for several values "
        text += "(any of them matches)."
    if not known:
        text += " An empty value means unknown."
    return text + " Filters on different dimensions all apply."


def _dimension_parameters() -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            f"{key}!" if negated else key,
            str,
            many=True,
            explode=True,
            style="form",
            enum=_DIMENSION_ENUMS.get(key),
            description=_dimension_description(key, negated),
        )
        for key in DIMENSIONS
        for negated in (False, True)
    ]


FILTER_PARAMETERS = [
    OpenApiParameter(
        "range",
        str,
        enum=list(PRESETS),
        default=DEFAULT_RANGE,
        description="The period, in days of tz; none reaches past the end of today. 24h: the 24 "
        "hours up to now. today, yesterday: that day. 7d, 30d, 90d: that many calendar days of "
        "tz, today included. month: this calendar month so far. last_month: the calendar month "
        "before. ytd: this year so far. 12m: this calendar month so far and the 11 before. "
        "all: from the day of the first click (30 days back while there is none) to the end of "
        "today, with no previous period. custom: the days from `from` to `to`, both included. "
        "The previous period, for comparisons, is the one of the same length just before; for "
        "month, last_month, ytd and 12m, the same days that many months earlier (ytd: this "
        "year so far against the same days of last year).",
    ),
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description="First day of range=custom, 2000-01-01 or later; required with it, ignored "
        "otherwise.",
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description="Last day, included, of range=custom; required with it, not before from and "
        "not after tomorrow in tz, ignored otherwise.",
    ),
    OpenApiParameter(
        "tz",
        str,
        default=settings.DASHBOARD_TIME_ZONE,
        description="IANA time zone, such as Europe/Berlin, whose calendar sets the period's days "
        "and whose local time the time series buckets and campaign sparklines follow. An old "
        "name is read as its current one (Asia/Calcutta as Asia/Kolkata).",
    ),
    OpenApiParameter(
        "bots",
        str,
        enum=list(BOTS),
        default="exclude",
        description="exclude leaves clicks flagged as bots out of every count and list; include "
        "counts them. The summary's bots figure counts them either way.",
    ),
    *_dimension_parameters(),
    OpenApiParameter(
        SENDER_CAMPAIGN,
        int,
        many=True,
        explode=True,
        style="form",
        description="Sender campaign is this id (the campaign as one sender names it, listed "
        "under sender_campaigns in /api/campaigns/); repeat the parameter for several values "
        "(any of them matches). Filters on different dimensions all apply.",
    ),
]

BUCKET_PARAMETER = OpenApiParameter(
    "bucket",
    str,
    enum=list(BUCKETS),
    description="The time series' granularity, in tz; weeks start on Monday. Absent: chosen "
    "from the period's length (see bucket in the answer). hour is refused for periods longer "
    "than 31 days, day beyond 2 years, week beyond 10 years: the answer's buckets lists those "
    "allowed.",
)

LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    int,
    default=10,
    description="How many top values to list, 1 to 1000; the rest are summed in other.",
)
BREAKDOWNS_PARAMETER = OpenApiParameter(
    "breakdowns",
    str,
    description="The breakdowns to include, comma-separated, each a dimension with an optional "
    ":limit (1 to 1000, default 10), e.g. referer,campaign,country:1000 (at most 20; a "
    "dimension may be asked at two limits, and is counted once). Absent: the dashboard's first "
    "tab of every panel (" + ", ".join(panel.tabs[0] for panel in PANELS) + ") at 10. Empty: "
    "none.",
)
DIMENSION_PARAMETER = OpenApiParameter(
    "dimension",
    str,
    location=OpenApiParameter.PATH,
    enum=list(BREAKDOWNS),
    description="The dimension to break clicks down by: a filter dimension, or utm_source, "
    "utm_medium, link or url (destination URL), which the filters do not take.",
)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


ERROR_RESPONSES = {
    400: _error("A parameter cannot be understood; detail names it."),
    401: _error("No or invalid credentials (send Authorization: Token <key>)."),
    403: _error("The account lacks the Marketer permission."),
    503: _error(
        "The database is unavailable (down, restarting or out of connections); "
        "retry after the seconds Retry-After gives."
    ),
}
# Goes in each operation's parameters; drf-spectacular lists it under the 503 response only.
RETRY_AFTER_HEADER = OpenApiParameter(
    "Retry-After",
    int,
    location=OpenApiParameter.HEADER,
    response=[503],
    description="Seconds to wait before retrying.",
)


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Exclusive.")
    label = serializers.CharField()


class FiguresSerializer(serializers.Serializer):
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()
    bots = serializers.IntegerField(help_text="Bot clicks, counted whatever the bots parameter.")
    qr = serializers.IntegerField()
    qr_share = serializers.FloatField()


_NO_CHANGE = "null when the previous period had none or for range=all"


class ChangeSerializer(serializers.Serializer):
    clicks = serializers.FloatField(
        allow_null=True,
        help_text=f"Relative change on the previous period, 0.25 = +25%; {_NO_CHANGE}.",
    )
    unique = serializers.FloatField(allow_null=True, help_text=f"Relative change; {_NO_CHANGE}.")
    bots = serializers.FloatField(allow_null=True, help_text=f"Relative change; {_NO_CHANGE}.")
    qr_share = serializers.FloatField(
        allow_null=True,
        help_text="Difference of the shares, 0.05 = 5 points; null when the previous period had "
        "no clicks or for range=all.",
    )


class StepSerializer(serializers.Serializer):
    range = serializers.CharField(help_text="Always custom.")
    to = serializers.DateField(help_text="Not after today.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword: declared here, not as a class attribute.
        return {"from": serializers.DateField(), **super().get_fields()}


class StepsSerializer(serializers.Serializer):
    previous = StepSerializer(
        allow_null=True,
        help_text="The range of the same length just before (whole months for month-based "
        "ranges); null for range=all or before 2000.",
    )
    next = StepSerializer(
        allow_null=True,
        help_text="The range of the same length just after, cut at today; null when it would "
        "start after today, or for range=all.",
    )


class SummarySerializer(serializers.Serializer):
    period = PeriodSerializer()
    previous_period = PeriodSerializer(allow_null=True, help_text="Null for range=all.")
    steps = StepsSerializer(help_text="Query parameters of the periods before and after.")
    current = FiguresSerializer()
    previous = FiguresSerializer(allow_null=True, help_text="Null for range=all.")
    change = ChangeSerializer()


class TimeseriesPointSerializer(serializers.Serializer):
    t = serializers.DateTimeField(
        help_text="Bucket start in tz, with its offset; weeks start on Monday."
    )
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()
    partial = serializers.BooleanField(
        required=False,
        help_text="Present and true on the bucket still running (it ends after now): its "
        "counts are incomplete.",
    )


class TimeseriesSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(
        choices=list(BUCKETS),
        help_text="The bucket parameter; without it, hour for periods up to 2 days, day up to "
        "92 days, week up to 200 days, month beyond.",
    )
    buckets = serializers.ListField(
        child=serializers.CharField(),
        help_text="The buckets the bucket parameter accepts for this period (of hour, day, "
        "week, month).",
    )
    tz = serializers.CharField()
    current = TimeseriesPointSerializer(
        many=True,
        help_text="Every bucket of the period that has started, in order; empty ones count zero.",
    )
    previous = TimeseriesPointSerializer(
        many=True,
        help_text="The previous period's buckets, in the same positions; empty for range=all.",
    )


class BreakdownRowSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The filter value; empty for unknown.")
    label = serializers.CharField()
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()
    share = serializers.FloatField(help_text="clicks / total.clicks, rounded to 4 places.")


class BreakdownOtherSerializer(serializers.Serializer):
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()
    share = serializers.FloatField()


class BreakdownTotalSerializer(serializers.Serializer):
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()


class BreakdownSerializer(serializers.Serializer):
    dimension = serializers.CharField()
    label = serializers.CharField()
    rows = BreakdownRowSerializer(
        many=True,
        help_text="Most clicked first; equal counts in order of value (campaign: by id, "
        "no campaign last).",
    )
    other = BreakdownOtherSerializer(allow_null=True, help_text="Values beyond limit, summed.")
    total = BreakdownTotalSerializer()


class PageBreakdownSerializer(BreakdownSerializer):
    limit = serializers.IntegerField(help_text="The limit asked for this breakdown.")


class PageSerializer(serializers.Serializer):
    summary = SummarySerializer()
    timeseries = TimeseriesSerializer()
    breakdowns = PageBreakdownSerializer(many=True, help_text="In the order breakdowns= names.")


# --- live view (analytics/live.py) -------------------------------------------------------------


class LiveMinuteSerializer(serializers.Serializer):
    t = serializers.DateTimeField(help_text="Start of the minute, UTC.")
    clicks = serializers.IntegerField()


class LiveTopSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The filter value; empty for unknown (or none).")
    label = serializers.CharField()
    clicks = serializers.IntegerField()


class LiveClickSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField(help_text="When the click happened.")
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2 code; empty for unknown.")
    country_label = serializers.CharField()
    device = serializers.CharField(help_text="Device type; empty for unknown.")
    device_label = serializers.CharField()
    campaign = serializers.CharField(help_text="Campaign id; empty for no campaign.")
    campaign_label = serializers.CharField()
    referer = serializers.CharField(help_text="Referring domain, (direct), or empty for unknown.")
    referer_label = serializers.CharField()


class LiveSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="Start of the first minute, 29 minutes ago.")
    end = serializers.DateTimeField(help_text="End of the current minute; exclusive.")
    now = serializers.DateTimeField(help_text="When the answer was read.")
    total = serializers.IntegerField(help_text="Clicks from start to now.")
    minutes = LiveMinuteSerializer(
        many=True, help_text="30 minutes, oldest first; the last one is still running."
    )
    countries = LiveTopSerializer(many=True, help_text="The 5 countries with most clicks.")
    campaigns = LiveTopSerializer(many=True, help_text="The 5 campaigns with most clicks.")
    referers = LiveTopSerializer(many=True, help_text="The 5 referers with most clicks.")
    latest = LiveClickSerializer(many=True, help_text="The 20 newest clicks, newest first.")


LIVE_BOTS_PARAMETER = OpenApiParameter(
    "bots",
    str,
    enum=list(BOTS),
    default="exclude",
    description="exclude leaves clicks flagged as bots out; include counts them.",
)
