"""What the API and the downloads answer while PostgreSQL is unavailable: 503 with Retry-After.

A database that is down, restarting or out of connections ("too many clients") is an outage the
client can wait out, not a fault of its request, so it gets ``503 Service Unavailable`` with a
``Retry-After`` header and a DRF-style ``{"detail": "..."}`` that the dashboard shows as is,
rather than a 500 and a traceback. Django raises OperationalError when it cannot connect or the
server goes away mid-query, InterfaceError for a connection that is already closed.

DRF views (everything under /api/ but the docs page) get this from ``exception_handler``, set as
REST_FRAMEWORK["EXCEPTION_HANDLER"]; plain Django views from ``database_unavailable_as_503``.
The webhook view has its own answer (it spools deliveries) and uses neither.
"""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
# Long enough for a restart or a burst of connections to pass, short enough for a dashboard.
RETRY_AFTER_SECONDS = 30
MESSAGE = (
    "The analytics database is unavailable right now; "
    f"please retry in {RETRY_AFTER_SECONDS} seconds."
)


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponseBase | None:
    """DRF's handler, with database outages answered 503 instead of raised as a 500."""
    if isinstance(exc, UNAVAILABLE_ERRORS):
        # Plain JSON, not a DRF Response: the browsable API's HTML would read the session (and
        # so the database) again while rendering, and the schema view would answer YAML.
        return unavailable_response(context["request"], exc)
    return drf_exception_handler(exc, context)


View = Callable[..., HttpResponseBase]


def database_unavailable_as_503(view: View) -> View:
    """For plain Django views (downloads, the docs page): the same 503 as the API's."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except UNAVAILABLE_ERRORS as exc:
            return unavailable_response(request, exc)

    return wrapper


def unavailable_response(request: HttpRequest, exc: Exception) -> JsonResponse:
    _log(request, exc)
    response = JsonResponse({"detail": MESSAGE}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Django logs every 5xx again at ERROR ("Service Unavailable: /api/…"); the warning already
    # says it, with the cause. This is the flag django.utils.log.log_response checks.
    response._has_been_logged = True
    return response


def _log(request: HttpRequest, exc: Exception) -> None:
    # A warning without a traceback: the cause is the database, not this code, and during an
    # outage every request would otherwise log a full traceback at ERROR.
    logger.warning(
        "Database unavailable, answered 503 to %s %s: %s",
        request.method,
        request.path,
        str(exc).strip() or type(exc).__name__,
    )
