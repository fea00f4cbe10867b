"""The live view: a page that polls /api/stats/live/ (clicks in the last 30 minutes)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import live
from analytics.api_schema import (
    ERROR_RESPONSES,
    LIVE_BOTS_PARAMETER,
    RETRY_AFTER_HEADER,
    LiveSerializer,
)
from analytics.permissions import CanViewAnalytics, analytics_page

# How often the page asks again, in milliseconds (while its tab is visible).
REFRESH_MS = 5000
# The page's top lists: (key in the API's answer, title).
TOP_LISTS = [("countries", "Countries"), ("campaigns", "Campaigns"), ("referers", "Referers")]


class LiveView(APIView):
    """Clicks in the last 30 minutes, read from the clicks themselves: per minute, the total,
    the top countries, campaigns and referers, and the newest clicks. The live view polls it."""

    permission_classes = [CanViewAnalytics]

    @extend_schema(
        tags=["stats"],
        parameters=[LIVE_BOTS_PARAMETER, RETRY_AFTER_HEADER],
        responses={200: LiveSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        try:
            data = live.live(bots=request.query_params.get("bots") or "exclude")
        except live.LiveError as exc:
            raise ParseError(str(exc)) from None
        return Response(LiveSerializer(data).data)


@analytics_page
def live_page(request: HttpRequest) -> HttpResponse:
    config = {"api": reverse("api-stats-live"), "refreshMs": REFRESH_MS}
    context = {"live_config": config, "top_lists": TOP_LISTS}
    return render(request, "analytics/live.html", context)
