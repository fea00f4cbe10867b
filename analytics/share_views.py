"""Shared links: a read-only dashboard for people who never sign in, and the only API it calls.

Every route here takes the link's token and nothing else identifies the visitor: no session, no
account. The visitor may change the period, the time zone, the bots rule and the chart's
buckets; the filters are the saved view's, applied here, so no request can reach another
campaign. Only aggregates are served: no clicks, and not the link and destination URL breakdowns
(URLs carry e-mail addresses and tokens in their query strings).
"""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from analytics import page_controls, panels, stats
from analytics.api import breakdown_limit, page_breakdowns
from analytics.api_errors import database_unavailable_as_503
from analytics.filters import ClickFilter, FilterError, shown
from analytics.sharing_models import SharedLink, site_url
from analytics.views import dashboard_config

# The parameters a visitor may set; anything else is refused, so nobody widens the view.
VISITOR_PARAMS = ("range", "from", "to", "tz", "bots", "bucket")
SHARED_BREAKDOWNS = [key for key in panels.BREAKDOWNS if key not in ("link", "url")]
COOKIE_SALT = "clicktrack.share"
COOKIE_MAX_AGE = 12 * 3600
PASSWORD_WINDOW = 15 * 60

SharedView = Callable[..., HttpResponseBase]


def shared(*, api: bool) -> Callable[[SharedView], SharedView]:
    """The gate of every shared route: the link exists and is active, the visitor is within the
    rate limit and has given the password; the view gets the link in place of the token."""

    def decorator(view: SharedView) -> SharedView:
        @wraps(view)
        def wrapper(request: HttpRequest, token: str, **kwargs: str) -> HttpResponseBase:
            link = SharedLink.objects.select_related("saved_view").filter(token=token).first()
            if link is None:
                raise Http404("No shared dashboard at this address.")
            response = _refusal(request, link, api) or view(request, link, **kwargs)
            _private(response)
            return response

        return database_unavailable_as_503(wrapper)

    return decorator


def _refusal(request: HttpRequest, link: SharedLink, api: bool) -> HttpResponseBase | None:
    state = link.state()
    if state != SharedLink.State.ACTIVE:
        message = (
            "This shared dashboard was revoked by its owner."
            if state == SharedLink.State.REVOKED
            else "This shared dashboard has expired."
        )
        return _error(api, request, message, status=410)
    wait = _over_rate_limit(request, link)
    if wait:
        response = _error(api, request, f"Too many requests; retry in {wait} seconds.", status=429)
        response["Retry-After"] = str(wait)
        return response
    if link.has_password and not _unlocked(request, link):
        if api:
            return JsonResponse(
                {"detail": "This shared dashboard needs its password; reload the page."},
                status=403,
            )
        if request.method == "POST":
            return _password_attempt(request, link)
        return _password_form(request, link)
    return None


@shared(api=False)
@require_http_methods(["GET", "POST"])
def dashboard(request: HttpRequest, link: SharedLink) -> HttpResponse:
    if request.method == "POST":  # the password was right: show the page with a GET
        return redirect(link.get_absolute_url())
    try:
        f, status, error = shared_filter(link, request.GET), 200, ""
    except FilterError as exc:
        try:
            f, status = shared_filter(link, QueryDict()), 400
        except FilterError:  # the view itself no longer works (its campaign was deleted)
            message = "This dashboard's view no longer works; ask its owner for a new link."
            return _error(False, request, message, status=410)
        error = f"{exc} Showing the default period instead."
    _touch(link)
    base = link.get_absolute_url()
    context = {
        "link": link,
        "error": error,
        "state": f.state() | {"filters": {}, "labels": {}},
        "locked": page_controls.chips(f, f.params()),
        "querystring": urlencode(_visitor_params(f)),
        "config": dashboard_config(
            api={
                "page": f"{base}api/page/",
                "summary": f"{base}api/summary/",
                "timeseries": f"{base}api/timeseries/",
                "breakdown": f"{base}api/breakdown/__dimension__/",
            },
            pages={"dashboard": base, "breakdown": None},
            panels=panels.dashboard_panels(SHARED_BREAKDOWNS, filtering=False),
            default_tz=f.tz.key,
        )
        | {"readonly": True},
    }
    return render(request, "analytics/share_dashboard.html", context, status=status)


@shared(api=True)
@require_GET
def page(request: HttpRequest, link: SharedLink) -> JsonResponse:
    params = request.GET.copy()
    raw = params.pop("breakdowns", [None])[-1]
    try:
        wanted = page_breakdowns(raw, SHARED_BREAKDOWNS)
    except FilterError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return _json(link, params, lambda f: stats.page(f, wanted))


@shared(api=True)
@require_GET
def summary(request: HttpRequest, link: SharedLink) -> JsonResponse:
    return _json(link, request.GET, stats.summary)


@shared(api=True)
@require_GET
def timeseries(request: HttpRequest, link: SharedLink) -> JsonResponse:
    return _json(link, request.GET, stats.timeseries)


@shared(api=True)
@require_GET
def breakdown(request: HttpRequest, link: SharedLink, dimension: str) -> JsonResponse:
    if dimension not in SHARED_BREAKDOWNS:
        return JsonResponse(
            {
                "detail": f"Unknown dimension {shown(dimension)}; use one of "
                f"{', '.join(SHARED_BREAKDOWNS)}."
            },
            status=404,
        )
    params = request.GET.copy()
    limit = params.pop("limit", [None])[-1]
    return _json(link, params, lambda f: stats.breakdown(f, dimension, breakdown_limit(limit)))


def shared_filter(link: SharedLink, params: QueryDict) -> ClickFilter:
    """The saved view's filter with the visitor's period, zone, bots rule and buckets."""
    refused = [key for key in params if key not in VISITOR_PARAMS]
    if refused:
        raise FilterError(
            f"A shared dashboard's filters are fixed; {shown(refused[0])} cannot be set."
        )
    query = QueryDict(link.saved_view.query if link.saved_view else "", mutable=True)
    if "range" in params:  # a new period: the view's custom dates do not carry over
        for key in ("from", "to"):
            query.pop(key, None)
    for key in VISITOR_PARAMS:
        if key in params:
            query.setlist(key, params.getlist(key))
    return ClickFilter.from_query(query)


def _json(
    link: SharedLink, params: QueryDict, answer: Callable[[ClickFilter], dict]
) -> JsonResponse:
    try:
        return JsonResponse(answer(shared_filter(link, params)))
    except FilterError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)


def _visitor_params(f: ClickFilter) -> list[tuple[str, str]]:
    return [(key, value) for key, value in f.params() if key in VISITOR_PARAMS]


def _over_rate_limit(request: HttpRequest, link: SharedLink) -> int:
    """Seconds to wait when this address made too many requests to this link this minute."""
    now = int(timezone.now().timestamp())
    key = f"share-rate:{link.pk}:{get_client_ip_address(request)}:{now // 60}"
    cache.add(key, 0, timeout=61)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        return 0
    return 60 - now % 60 if count > settings.SHARE_RATE_LIMIT_PER_MINUTE else 0


def _cookie_name(link: SharedLink) -> str:
    return f"clicktrack_share_{link.pk}"


def _fingerprint(link: SharedLink) -> str:
    # Changes with the password, so a new password locks out every earlier visitor.
    return link.password_hash[-24:]


def _unlocked(request: HttpRequest, link: SharedLink) -> bool:
    value = request.get_signed_cookie(
        _cookie_name(link), default=None, salt=COOKIE_SALT, max_age=COOKIE_MAX_AGE
    )
    return value == _fingerprint(link)


def _password_form(
    request: HttpRequest, link: SharedLink, error: str = "", status: int = 200
) -> HttpResponse:
    context = {"link": link, "error": error}
    return render(request, "analytics/share_password.html", context, status=status)


def _password_attempt(request: HttpRequest, link: SharedLink) -> HttpResponse:
    # Counted before the (slow) check, atomically: parallel guesses cannot all see a count of 0.
    key = f"share-password:{link.pk}:{get_client_ip_address(request)}"
    cache.add(key, 0, timeout=PASSWORD_WINDOW)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        attempts = 1
    if attempts > settings.SHARE_PASSWORD_ATTEMPTS:
        return _password_form(
            request, link, "Too many wrong passwords; try again in 15 minutes.", status=429
        )
    if not link.check_password(request.POST.get("password", "")):
        return _password_form(request, link, "That password is not right.", status=403)
    cache.delete(key)
    response = redirect(f"{link.get_absolute_url()}?{request.GET.urlencode()}".rstrip("?"))
    response.set_signed_cookie(
        _cookie_name(link),
        _fingerprint(link),
        salt=COOKIE_SALT,
        max_age=COOKIE_MAX_AGE,
        path=link.get_absolute_url(),
        secure=settings.HTTPS,
        httponly=True,
        samesite="Lax",
    )
    return response


def _error(api: bool, request: HttpRequest, message: str, status: int) -> HttpResponse:
    if api:
        return JsonResponse({"detail": message}, status=status)
    return render(request, "analytics/share_gone.html", {"message": message}, status=status)


def _touch(link: SharedLink) -> None:
    """Note the visit, at most once a minute (a dashboard load is a dozen requests)."""
    now = timezone.now()
    if not link.last_viewed_at or (now - link.last_viewed_at).total_seconds() > 60:
        SharedLink.objects.filter(pk=link.pk).update(last_viewed_at=now)


def _private(response: HttpResponseBase) -> None:
    # The token is the password of the page: never sent to another site as a Referer, never
    # indexed, never kept by a shared cache. (Not "no-referrer": Chromium then posts the
    # password form with "Origin: null", which Django's CSRF check refuses.)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"


def share_url(link: SharedLink) -> str:
    return site_url(link.get_absolute_url())
