"""Saved views and what hangs off each: shared links, scheduled reports, alerts.

Marketers see their own views and the team's; a view's owner (or staff) changes it and manages
its links, reports and alerts. Every write is a POST that redirects back to the view's page.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from analytics import report_email
from analytics.filters import ClickFilter, FilterError
from analytics.models import (
    AlertIncident,
    AlertRule,
    ReportDelivery,
    ReportSchedule,
    SavedView,
    SharedLink,
)
from analytics.permissions import analytics_page
from analytics.saved_view_forms import (
    AlertRuleForm,
    ReportScheduleForm,
    SavedViewForm,
    SharedLinkForm,
)
from analytics.share_views import share_url

RECENT = 10


@analytics_page
def saved_views(request: HttpRequest) -> HttpResponse:
    """GET: every view the user may open. POST: save the dashboard's current view."""
    if request.method == "POST":
        form = SavedViewForm(request.POST, instance=SavedView(owner=request.user))
        if form.is_valid():
            view = form.save()
            messages.success(request, f"Saved “{view.name}”.")
            return redirect(view.get_absolute_url())
        messages.error(request, _errors(form))
        return redirect(f"{reverse('dashboard')}?{request.POST.get('query', '')}")
    views = SavedView.objects.visible_to(request.user).order_by(Lower("name"))
    return render(request, "analytics/saved_views.html", {"views": views})


@analytics_page
def saved_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The view's page: its settings, links, reports and alerts. POST renames it."""
    view = _visible(request, pk)
    editor = view.can_edit(request.user)
    form = SavedViewForm(instance=view)
    if request.method == "POST":
        _require_editor(request, view)
        form = SavedViewForm(request.POST, instance=view)
        if form.is_valid():
            view.updated_at = timezone.now()
            form.save()
            messages.success(request, "Saved.")
            return redirect("saved-view", pk=view.pk)
    context = _page_context(view, editor) | {"form": form}
    return render(request, "analytics/saved_view.html", context, status=400 if form.errors else 200)


@analytics_page
@require_POST
def delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    view = _visible(request, pk)
    _require_editor(request, view)
    view.delete()
    messages.success(request, f"Deleted “{view.name}” with its shared links, reports and alerts.")
    return redirect("saved-views")


# kind -> (its form, the form's name on the view's page, what saving it says)
_NEW = {
    "link": (SharedLinkForm, "link_form", "Shared link created: copy it from the list."),
    "report": (ReportScheduleForm, "report_form", "Report scheduled."),
    "alert": (AlertRuleForm, "alert_form", "Alert created."),
}
# kind -> (its model, what deleting one says)
_DELETE = {
    "report": (ReportSchedule, "Report stopped and deleted."),
    "alert": (AlertRule, "Alert deleted."),
}


@analytics_page
@require_POST
def create(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """A shared link, report or alert of the view (``kind``, set by the URL)."""
    form_class, form_name, done = _NEW[kind]
    view = _visible(request, pk)
    _require_editor(request, view)
    form = form_class(request.POST, instance=form_class._meta.model(saved_view=view))
    form.instance.created_by = request.user
    if not form.is_valid():
        context = _page_context(view, True) | {
            "form": SavedViewForm(instance=view),
            form_name: form,
        }
        return render(request, "analytics/saved_view.html", context, status=400)
    form.save()
    messages.success(request, done)
    return redirect("saved-view", pk=view.pk)


@analytics_page
@require_POST
def revoke_link(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(SharedLink, pk=pk, saved_view__isnull=False)
    view = _visible(request, link.saved_view_id)
    _require_editor(request, view)
    link.revoke()
    messages.success(request, f"Revoked the link for “{link.label}”: it no longer opens.")
    return redirect("saved-view", pk=view.pk)


@analytics_page
@require_POST
def delete(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """A report schedule or alert rule (``kind``, set by the URL)."""
    model, done = _DELETE[kind]
    item = get_object_or_404(model, pk=pk, saved_view__isnull=False)
    view = _visible(request, item.saved_view_id)
    _require_editor(request, view)
    item.delete()
    messages.success(request, done)
    return redirect("saved-view", pk=view.pk)


@analytics_page
@require_GET
def report_preview(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """The report of the last closed period as its recipients will see it, HTML or text."""
    if kind not in ("html", "txt"):
        raise Http404("A preview is .html or .txt.")
    schedule = get_object_or_404(ReportSchedule.objects.select_related("saved_view"), pk=pk)
    _visible(request, schedule.saved_view_id)
    now = timezone.now()
    try:
        start, _ = schedule.last_closed_period(now)
        subject, text, html = report_email.preview(schedule, start, now)
    except FilterError as exc:
        message = f"This report's view no longer works: {exc}"
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    if kind == "txt":
        return HttpResponse(
            f"Subject: {subject}\n\n{text}", content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(html)
    # The e-mail's HTML styles itself inline, as e-mail must; nothing else may load or run.
    response["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
    )
    return response


def _visible(request: HttpRequest, pk: int) -> SavedView:
    # Staff reach every view (to repair or revoke); their list shows theirs and the team's.
    views = SavedView.objects.select_related("owner")
    if not request.user.is_staff:
        views = views.visible_to(request.user)
    view = views.filter(pk=pk).first()
    if view is None:
        raise Http404("No saved view with this number that you can see.")
    return view


def _require_editor(request: HttpRequest, view: SavedView) -> None:
    if not view.can_edit(request.user):
        raise PermissionDenied(f"Only {view.owner} (or staff) can change “{view.name}”.")


def _page_context(view: SavedView, editor: bool) -> dict[str, object]:
    now = timezone.now()
    links = list(view.shared_links.order_by("-created_at"))
    for link in links:
        # A link's address is its password: for those who manage the view only.
        link.url = share_url(link) if editor else ""
        link.current_state = link.state(now)
    schedules = view.reports.order_by("created_at").prefetch_related(
        Prefetch(
            "deliveries",
            queryset=ReportDelivery.objects.order_by("-period_start"),
            to_attr="history",
        )
    )
    alerts = view.alerts.select_related("endpoint").prefetch_related(
        Prefetch(
            "incidents",
            queryset=AlertIncident.objects.order_by("-opened_at"),
            to_attr="history",
        )
    )
    try:
        f, broken = view.click_filter(), ""
    except FilterError as exc:  # a campaign it names was deleted: say so, let the owner fix it
        f = ClickFilter.from_query(QueryDict())
        broken = (
            f"This view's filters no longer work: {exc} Open the dashboard, set the filters "
            "and save the view again, or delete it."
        )
    reports = []
    for schedule in schedules:
        recent = schedule.history[:RECENT]
        for delivery in recent:
            # Periods are local midnights of the view's zone; the end is exclusive.
            delivery.first_day = delivery.period_start.astimezone(f.tz).date()
            delivery.last_day = (delivery.period_end.astimezone(f.tz) - timedelta(days=1)).date()
        reports.append((schedule, recent))
    return {
        "view": view,
        "editor": editor,
        "filter_label": f.label,
        "broken": broken,
        "links": links,
        "reports": reports,
        "alerts": [(alert, alert.history[:RECENT]) for alert in alerts],
        "link_form": SharedLinkForm(),
        "report_form": ReportScheduleForm(),
        "alert_form": AlertRuleForm(),
    }


def _errors(form: ModelForm) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)
