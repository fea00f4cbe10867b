"""OpenAPI descriptions of the API: the filter parameters every endpoint takes, response shapes.

The stats views return plain dicts from analytics.stats; the serializers here only describe those
dicts for drf-spectacular and are never used to render them.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from analytics.filters import BOTS, DEFAULT_RANGE, DIMENSIONS, PRESETS
from analytics.models import Device, Sender

_DIMENSION_HELP = {
    "campaign": "campaign id (a number, see /api/campaigns/)",
    "country": "ISO 3166-1 alpha-2 code such as US",
    "device": "device type",
    "referer": "referring domain, or (direct)",
    "sender": "webhook sender",
    "browser": "browser name",
    "os": "operating system name",
    "city": "city name",
}
_DIMENSION_ENUMS = {"sender": list(Sender.values), "device": list(Device.values)}


def _dimension_parameters() -> list[OpenApiParameter]:
    parameters = []
    for key, dimension in DIMENSIONS.items():
        what = _DIMENSION_HELP[key]
        for name, verb in ((key, "is"), (f"{key}!", "is not")):
            parameters.append(
                OpenApiParameter(
                    name,
                    str,
                    many=True,
                    explode=True,
                    style="form",
                    enum=_DIMENSION_ENUMS.get(key),
                    description=f"{dimension.label} {verb} this value ({what}); repeat the "
                    "parameter for several values. An empty value means unknown."
                    + (" Clicks whose value is unknown are kept." if verb == "is not" else ""),
                )
            )
    return parameters


FILTER_PARAMETERS = [
    OpenApiParameter(
        "range",
        str,
        enum=list(PRESETS),
        default=DEFAULT_RANGE,
        description="Period: "
        + ", ".join(f"{key} ({label})" for key, label in PRESETS.items())
        + ". Day-based periods follow the calendar of tz and include today.",
    ),
    OpenApiParameter(
        "from", OpenApiTypes.DATE, description="First day of a custom range (range=custom)."
    ),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, description="Last day, included, of a custom range (range=custom)."
    ),
    OpenApiParameter(
        "tz",
        str,
        default=settings.DASHBOARD_TIME_ZONE,
        description="IANA time zone of the period's days and of the time series buckets.",
    ),
    OpenApiParameter(
        "bots",
        str,
        enum=list(BOTS),
        default="exclude",
        description="Whether clicks flagged as bots are counted.",
    ),
    *_dimension_parameters(),
]

LIMIT_PARAMETER = OpenApiParameter(
    "limit", int, default=10, description="How many top values to return, 1 to 1000."
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
    400: _error("A filter parameter cannot be understood; detail names it."),
    401: _error("No or invalid credentials (send Authorization: Token <key>)."),
    403: _error("The account lacks the Marketer permission."),
}


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


class ChangeSerializer(serializers.Serializer):
    clicks = serializers.FloatField(allow_null=True, help_text="Relative change, 0.25 = +25%.")
    unique = serializers.FloatField(allow_null=True)
    bots = serializers.FloatField(allow_null=True)
    qr_share = serializers.FloatField(allow_null=True, help_text="Difference of the shares.")


class SummarySerializer(serializers.Serializer):
    period = PeriodSerializer()
    previous_period = PeriodSerializer(allow_null=True, help_text="Null for range=all.")
    current = FiguresSerializer()
    previous = FiguresSerializer(allow_null=True)
    change = ChangeSerializer()


class TimeseriesPointSerializer(serializers.Serializer):
    t = serializers.DateTimeField(help_text="Bucket start, with the offset of tz.")
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()


class TimeseriesSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=["hour", "day", "week", "month"])
    tz = serializers.CharField()
    current = TimeseriesPointSerializer(many=True)
    previous = TimeseriesPointSerializer(many=True, help_text="The period before, aligned.")


class BreakdownRowSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The filter value; empty for unknown.")
    label = serializers.CharField()
    clicks = serializers.IntegerField()
    unique = serializers.IntegerField()
    share = serializers.FloatField()


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
    rows = BreakdownRowSerializer(many=True)
    other = BreakdownOtherSerializer(allow_null=True, help_text="Values beyond limit, summed.")
    total = BreakdownTotalSerializer()
