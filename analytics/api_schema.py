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
        description="The period. 24h: the 24 hours up to now. 7d, 30d, 90d: that many calendar "
        "days of tz, today included. 12m: this calendar month of tz and the 11 before. all: from "
        "the day of the first click (30 days back while there is none) to the end of today, "
        "with no previous period. custom: the days from `from` to `to`, both included. The "
        "previous period, for comparisons, is the one of the same length just before.",
    ),
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description="First day of range=custom; required with it, ignored otherwise.",
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description="Last day, included, of range=custom; required with it and not before from, "
        "ignored otherwise.",
    ),
    OpenApiParameter(
        "tz",
        str,
        default=settings.DASHBOARD_TIME_ZONE,
        description="IANA time zone, such as Europe/Berlin, whose calendar sets the period's days "
        "and whose local time the time series buckets and campaign sparklines follow.",
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

LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    int,
    default=10,
    description="How many top values to list, 1 to 1000; the rest are summed in other.",
)
DIMENSION_PARAMETER = OpenApiParameter(
    "dimension",
    str,
    location=OpenApiParameter.PATH,
    enum=list(DIMENSIONS),
    description="The dimension to break clicks down by.",
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


class SummarySerializer(serializers.Serializer):
    period = PeriodSerializer()
    previous_period = PeriodSerializer(allow_null=True, help_text="Null for range=all.")
    current = FiguresSerializer()
    previous = FiguresSerializer(allow_null=True, help_text="Null for range=all.")
    change = ChangeSerializer()


class TimeseriesPointSerializer(serializers.Serializer):
    t = serializers.DateTimeField(
        help_text="Bucket start in tz, with its offset; weeks start on Monday."
    )
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()


class TimeseriesSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(
        choices=["hour", "day", "week", "month"],
        help_text="hour for periods up to 2 days, day up to 92 days, week up to 200 days, "
        "month beyond.",
    )
    tz = serializers.CharField()
    current = TimeseriesPointSerializer(
        many=True, help_text="Every bucket of the period, in order; empty ones count zero."
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
