"""The stats API: the same numbers as the dashboard (which calls it), for developers too."""

from collections.abc import Collection

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import stats
from analytics.api_schema import (
    BREAKDOWNS_PARAMETER,
    BUCKET_PARAMETER,
    DIMENSION_PARAMETER,
    ERROR_RESPONSES,
    FILTER_PARAMETERS,
    LIMIT_PARAMETER,
    RETRY_AFTER_HEADER,
    BreakdownSerializer,
    ErrorSerializer,
    PageSerializer,
    SummarySerializer,
    TimeseriesSerializer,
)
from analytics.filters import ClickFilter, FilterError, shown
from analytics.panels import BREAKDOWNS, PANELS
from analytics.permissions import CanViewAnalytics

MAX_BREAKDOWN_ROWS = 1000
MAX_PAGE_BREAKDOWNS = 20
# What the dashboard shows before anyone picks a tab.
DEFAULT_PAGE_BREAKDOWNS = [panel.tabs[0] for panel in PANELS]


class _StatsView(APIView):
    permission_classes = [CanViewAnalytics]

    def click_filter(self, request: Request) -> ClickFilter:
        try:
            return ClickFilter.from_query(request.query_params)
        except FilterError as exc:
            raise ParseError(str(exc)) from None


class SummaryView(_StatsView):
    """Headline figures (clicks, unique, bots, QR share) for the period and the previous one of
    the same length, and the change between them (none for range=all)."""

    @extend_schema(
        tags=["stats"],
        parameters=[*FILTER_PARAMETERS, RETRY_AFTER_HEADER],
        responses={200: SummarySerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        return Response(stats.summary(self.click_filter(request)))


class TimeseriesView(_StatsView):
    """Clicks and unique clicks per hour, day, week or month of tz, for the period and the
    previous one. The bucket still running is marked partial."""

    @extend_schema(
        tags=["stats"],
        parameters=[*FILTER_PARAMETERS, BUCKET_PARAMETER, RETRY_AFTER_HEADER],
        responses={200: TimeseriesSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        return Response(stats.timeseries(self.click_filter(request)))


class BreakdownView(_StatsView):
    """Top values of one dimension with clicks, unique clicks and share, most clicked first.
    Besides the filter dimensions, utm_source, utm_medium, link and url (the destination URL)."""

    @extend_schema(
        tags=["stats"],
        parameters=[DIMENSION_PARAMETER, *FILTER_PARAMETERS, LIMIT_PARAMETER, RETRY_AFTER_HEADER],
        responses={
            200: BreakdownSerializer,
            **ERROR_RESPONSES,
            404: OpenApiResponse(ErrorSerializer, description="Unknown dimension."),
        },
    )
    def get(self, request: Request, dimension: str) -> Response:
        if dimension not in BREAKDOWNS:
            raise NotFound(f"Unknown dimension {dimension!r}; use one of {', '.join(BREAKDOWNS)}.")
        f = self.click_filter(request)
        return Response(stats.breakdown(f, dimension, _limit(request)))


class PageView(_StatsView):
    """A dashboard page in one call: the summary, the time series and each breakdown asked for,
    as the three endpoints above answer them, read from one snapshot of the data."""

    @extend_schema(
        tags=["stats"],
        parameters=[*FILTER_PARAMETERS, BUCKET_PARAMETER, BREAKDOWNS_PARAMETER, RETRY_AFTER_HEADER],
        responses={200: PageSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        f = self.click_filter(request)
        try:
            wanted = page_breakdowns(request.query_params.get("breakdowns"), BREAKDOWNS)
        except FilterError as exc:
            raise ParseError(str(exc)) from None
        return Response(stats.page(f, wanted))


def _limit(request: Request) -> int:
    try:
        return breakdown_limit(request.query_params.get("limit"))
    except FilterError as exc:
        raise ParseError(str(exc)) from None


def breakdown_limit(raw: str | None) -> int:
    """A breakdown's limit= (10 when absent); FilterError says what it may be."""
    raw = raw or "10"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_BREAKDOWN_ROWS:
        raise FilterError(f"limit must be a whole number from 1 to {MAX_BREAKDOWN_ROWS}.")
    return int(raw)


def page_breakdowns(raw: str | None, allowed: Collection[str]) -> list[tuple[str, int]]:
    """The page's breakdowns= as (dimension, limit) pairs: comma-separated dimensions, each
    with an optional :limit (10 when absent); absent, the first tab of every dashboard panel."""
    if raw is None:
        return [(key, 10) for key in DEFAULT_PAGE_BREAKDOWNS if key in allowed]
    wanted: list[tuple[str, int]] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        dimension, _, limit = item.partition(":")
        if dimension not in allowed:
            raise FilterError(
                f"breakdowns names an unknown dimension {shown(dimension)}; use "
                f"{', '.join(allowed)}, each with an optional :limit."
            )
        pair = (dimension, breakdown_limit(limit))
        if pair in wanted:
            raise FilterError(f"breakdowns names {shown(item)} twice.")
        wanted.append(pair)
    if len(wanted) > MAX_PAGE_BREAKDOWNS:
        raise FilterError(f"breakdowns takes at most {MAX_PAGE_BREAKDOWNS} breakdowns.")
    return wanted
