"""The page that unifies campaigns (/campaigns/unify/) and its forms.

Everyone with the dashboards sees how sender campaigns are unified; staff and people given the
rule permission change it (analytics.permissions.campaign_editor). Reads come from
analytics.campaign_reads; every change goes through analytics.campaigns, which re-maps the sender
campaigns in the same transaction. Changes answer with a redirect back to the page (with its
filter) and a message; a form with errors is shown again with status 400.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analytics import campaign_reads, campaign_suggestions, campaigns
from analytics.campaign_forms import CanonicalCampaignForm, RuleForm
from analytics.models import CampaignRule, CanonicalCampaign
from analytics.permissions import analytics_page, campaign_editor, can_unify_campaigns
from analytics.views import click_filter


def _back(request: HttpRequest) -> HttpResponseRedirect:
    """To the page, keeping its filter (the forms post to URLs that carry it)."""
    query = request.GET.urlencode()
    return HttpResponseRedirect(reverse("campaigns-unify") + (f"?{query}" if query else ""))


def _moved(result: campaigns.Remapped) -> str:
    count = len(result.moved)
    return f"{count} sender campaign{'s' if count != 1 else ''} moved."


@require_GET
@analytics_page
def unify(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _page(
    request: HttpRequest,
    *,
    create_form: CanonicalCampaignForm | None = None,
    rename_forms: dict[int, CanonicalCampaignForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    f, filter_status = click_filter(request)
    overview = campaign_reads.overview(f)
    editor = can_unify_campaigns(request.user)
    rename_forms = rename_forms or {}
    for item in overview.unified:
        pk = item.canonical.pk
        item.rename_form = rename_forms.get(pk) or CanonicalCampaignForm(
            instance=item.canonical, auto_id=f"id_rename_{pk}_%s"
        )
    context = {
        "overview": overview,
        "editor": editor,
        "create_form": create_form or CanonicalCampaignForm(auto_id="id_new_%s"),
        "period_label": f.label,
        "querystring": f.querystring(),
    }
    return render(request, "analytics/unify.html", context, status=max(status, filter_status))


@require_POST
@campaign_editor
def create_canonical(request: HttpRequest) -> HttpResponse:
    form = CanonicalCampaignForm(request.POST, auto_id="id_new_%s")
    if not form.is_valid():
        return _page(request, create_form=form, status=400)
    campaigns.save(form.instance)
    messages.success(request, f"Created “{form.instance.name}”. Add a rule to give it campaigns.")
    query = urlencode({"canonical": form.instance.pk}) + (
        f"&{request.GET.urlencode()}" if request.GET else ""
    )
    return HttpResponseRedirect(f"{reverse('campaign-rule-new')}?{query}")


@require_POST
@campaign_editor
def rename_canonical(request: HttpRequest, pk: int) -> HttpResponse:
    canonical = get_object_or_404(CanonicalCampaign, pk=pk, is_automatic=False)
    form = CanonicalCampaignForm(request.POST, instance=canonical, auto_id=f"id_rename_{pk}_%s")
    if not form.is_valid():
        return _page(request, rename_forms={pk: form}, status=400)
    campaigns.save(form.instance)
    messages.success(request, f"Renamed to “{form.instance.name}”.")
    return _back(request)


@require_POST
@campaign_editor
def delete_canonical(request: HttpRequest, pk: int) -> HttpResponse:
    canonical = get_object_or_404(CanonicalCampaign, pk=pk, is_automatic=False)
    name = canonical.name
    result = campaigns.delete(canonical)
    messages.success(
        request,
        f"Deleted “{name}” and its rules; its sender campaigns are on their own again. "
        f"{_moved(result)}",
    )
    return _back(request)


@require_http_methods(["GET", "POST"])
@campaign_editor
def rule(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A new rule (``?canonical=`` preselects its campaign) or an existing one: the form, its
    preview (the sender campaigns it would take) and saving."""
    instance = get_object_or_404(CampaignRule, pk=pk) if pk is not None else None
    if request.method == "POST":
        form = RuleForm(request.POST, instance=instance)
        if form.is_valid() and request.POST.get("action") != "preview":
            result = campaigns.save(form.instance)
            messages.success(request, f"Saved the rule “{form.instance}”. {_moved(result)}")
            return _back(request)
    else:
        initial = {}
        if instance is None:
            initial = {
                "field": "utm_campaign",
                "match": "iexact",
                "priority": campaigns.next_priority(),
            }
        if instance is None and request.GET.get("canonical", "").isdigit():
            initial["canonical"] = int(request.GET["canonical"])
        form = RuleForm(instance=instance, initial=initial)
    # The preview of what is in the form: the saved rule on first view, else what was posted.
    claims = None
    if form.is_bound and form.is_valid():
        claims = campaign_reads.preview(form.instance)
    elif instance is not None and not form.is_bound:
        claims = campaign_reads.preview(instance)
    context = {
        "form": form,
        "rule": instance,
        "claims": claims,
        "taken": sum(claim.taken for claim in claims or ()),
        "querystring": request.GET.urlencode(),
    }
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "analytics/unify_rule.html", context, status=status)


@require_POST
@campaign_editor
def delete_rule(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(CampaignRule, pk=pk)
    text = str(found)
    result = campaigns.delete(found)
    messages.success(request, f"Deleted the rule “{text}”. {_moved(result)}")
    return _back(request)


@require_POST
@campaign_editor
def move_rule(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(CampaignRule, pk=pk)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        messages.error(request, "Move a rule up or down.")
        return _back(request)
    result = campaigns.move_rule(found, offset)
    messages.success(
        request, f"Moved the rule “{found}” {request.POST['direction']}. {_moved(result)}"
    )
    return _back(request)


@require_POST
@campaign_editor
def accept_suggestion(request: HttpRequest) -> HttpResponse:
    found = campaign_suggestions.find_suggestion(request.POST.get("key", ""))
    if found is None:
        messages.warning(request, "That suggestion no longer applies: the campaigns have moved.")
        return _back(request)
    canonical = campaigns.accept(found)
    count = len(found.campaigns)
    messages.success(request, f"Unified {count} sender campaigns into “{canonical.name}”.")
    return _back(request)
