"""Downloads for marketers: the filtered clicks as CSV, reports as CSV or ZIP.

Each view parses the dashboard's filter, asks analytics.exports for the file and sends it as an
attachment named after the period. Same access as the dashboard pages: anonymous visitors are sent
to the login page, signed-in users without the Marketer permission get 403. While the database is
unavailable they answer 503 with Retry-After, as the API does.
"""

from collections.abc import Callable
from functools import wraps

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from analytics import csv_copy, exports
from analytics.api_errors import database_unavailable_as_503
from analytics.filters import ClickFilter, FilterError
from analytics.permissions import analytics_page

CSV = "text/csv; charset=utf-8"

FilteredView = Callable[[HttpRequest, ClickFilter], HttpResponseBase]


def _download(view: FilteredView) -> Callable[[HttpRequest], HttpResponseBase]:
    """Marketers only, GET only (a HEAD would run the whole export), filter parsed once, 503
    while the database is unavailable (outermost: the sign-in check reads the session first)."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponseBase:
        try:
            f = ClickFilter.from_query(request.GET)
        except FilterError as exc:
            # Unlike a page, a download has nowhere to show a message and fall back: say why.
            return _bad_request(str(exc))
        return view(request, f)

    return database_unavailable_as_503(analytics_page(require_GET(wrapper)))


@_download
def clicks_csv(request: HttpRequest, f: ClickFilter) -> HttpResponseBase:
    """``/export/clicks.csv``: one row per click of the filtered view, streamed."""
    response = StreamingHttpResponse(csv_copy.stream_clicks_csv(f.clicks()), content_type=CSV)
    return _attachment(response, exports.download_name("clicks", f, "csv"))


@_download
def report_csv(request: HttpRequest, f: ClickFilter) -> HttpResponseBase:
    """``/export/report.csv?dimension=<summary|timeseries|dimension>``: one report's rows."""
    report = request.GET.get("dimension", "")
    if report not in exports.REPORTS:
        return _bad_request(f"dimension must be one of {', '.join(exports.REPORTS)}.")
    response = HttpResponse(exports.report_csv(f, report), content_type=CSV)
    return _attachment(response, exports.download_name(f"report-{report}", f, "csv"))


@_download
def report_zip(request: HttpRequest, f: ClickFilter) -> HttpResponseBase:
    """``/export/report.zip``: the summary, the time series and every dimension's breakdown."""
    response = HttpResponse(exports.report_zip(f), content_type="application/zip")
    return _attachment(response, exports.download_name("report", f, "zip"))


def _attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    # Analytics of one account: no shared cache may keep a copy.
    response["Cache-Control"] = "private, no-store"
    return response


def _bad_request(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
