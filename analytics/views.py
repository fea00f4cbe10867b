"""The marketers' pages. Each parses the filter, asks analytics.stats, renders."""

from django.conf import settings
from django.contrib import messages
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from analytics import page_controls, panels, stats, timeutil
from analytics.filters import DIMENSIONS, FILTER_CHOICES, PRESETS, ClickFilter, FilterError
from analytics.models import SavedView, Sender
from analytics.permissions import analytics_page
from analytics.senders.normalize import CONTINENT_OF, country_name


def click_filter(request: HttpRequest) -> tuple[ClickFilter, int]:
    """The request's filter, or the default one with an error message (and a 400 status)."""
    try:
        return ClickFilter.from_query(request.GET), 200
    except FilterError as exc:
        messages.error(request, f"{exc} Showing the default view instead.")
        return ClickFilter.from_query(QueryDict()), 400


@analytics_page
def dashboard(request: HttpRequest) -> HttpResponse:
    f, status = click_filter(request)
    state = f.state() | {"labels": stats.filter_labels(f)}
    config = dashboard_config(
        api={
            "page": reverse("api-stats-page"),
            "summary": reverse("api-stats-summary"),
            "timeseries": reverse("api-stats-timeseries"),
            "breakdown": reverse("api-stats-breakdown", args=["__dimension__"]),
        },
        pages={
            "breakdown": reverse("breakdown_page", args=["__dimension__"]),
            "dashboard": reverse("dashboard"),
        },
        panels=panels.dashboard_panels(),
        default_tz=settings.DASHBOARD_TIME_ZONE,
    )
    context = {
        "state": state,
        "config": config,
        "querystring": f.querystring(),
        "saved_views": SavedView.objects.visible_to(request.user).order_by(Lower("name")),
    }
    return render(request, "analytics/dashboard.html", context, status=status)


def dashboard_config(
    *, api: dict[str, str], pages: dict[str, str | None], panels: list, default_tz: str
) -> dict[str, object]:
    """What the dashboard's JavaScript reads (json_script): where its numbers come from, its
    panels, and the lists its controls offer. The shared dashboard passes its own API."""
    return {
        "api": api,
        "pages": pages,
        "dimensions": [
            {"key": d.key, "label": d.label, "chart": d.chart} for d in DIMENSIONS.values()
        ],
        "panels": panels,
        "presets": [{"key": key, "label": label} for key, label in PRESETS.items()],
        "default_tz": default_tz,
        # For the searchable time-zone list and the add-filter form's checks.
        "zones": timeutil.zone_choices(timezone.now()),
        "bucket_labels": [("hour", "Hour"), ("day", "Day"), ("week", "Week"), ("month", "Month")],
        "countries": {code: country_name(code) for code in sorted(CONTINENT_OF)},
        "choices": {key: sorted(values) for key, values in FILTER_CHOICES.items()},
    }


@analytics_page
def breakdown_page(request: HttpRequest, dimension: str) -> HttpResponse:
    if dimension not in panels.BREAKDOWNS:
        raise Http404(f"Unknown dimension {dimension!r}.")
    f, status = click_filter(request)
    data = stats.breakdown(f, dimension, limit=1000)
    dashboard_url = reverse("dashboard")
    total = data["total"]["clicks"]
    for row in data["rows"]:
        # Shown from the counts, not the API's share rounded to 4 places, which rounded again
        # would show 8/97 (8.247%) as 8.3%: the dashboard does the same (format.js fmtShare).
        row["share"] = row["clicks"] / total if total else 0.0
        # UTM, link and URL rows have no filter to link to (panels.CLICK_BREAKDOWNS).
        if dimension in DIMENSIONS:
            row["filter_url"] = f"{dashboard_url}?{f.with_value(dimension, row['value'])}"
    context = {
        "dimension_label": data["label"],
        "rows": data["rows"],
        "total_clicks": data["total"]["clicks"],
        "period_label": f.label,
        "querystring": f.querystring(),
        "dashboard_url": f"{dashboard_url}?{f.querystring()}",
        "controls": page_controls.context(f),
        "filters": dimension in DIMENSIONS,
        # What the rows that name no value (Direct, Unknown, No campaign) hold, as the
        # dashboard says it.
        "value_notes": [
            note
            for value, note in panels.notes(dimension).items()
            if any(row["value"] == value for row in data["rows"])
        ],
    }
    return render(request, "analytics/breakdown.html", context, status=status)


@analytics_page
def campaigns(request: HttpRequest) -> HttpResponse:
    f, status = click_filter(request)
    rows = stats.campaigns(f)
    dashboard_url = reverse("dashboard")
    for row in rows:
        row["dashboard_url"] = f"{dashboard_url}?{f.with_value('campaign', str(row['id']))}"
        row["sender_badges"] = [Sender(sender).label for sender in row["senders"]]
    context = {
        "campaigns": rows,
        "sparklines": {row["id"]: row["sparkline"] for row in rows},
        "period_label": f.label,
        "querystring": f.querystring(),
        "controls": page_controls.context(f),
    }
    return render(request, "analytics/campaigns.html", context, status=status)
