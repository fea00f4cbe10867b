"""Canonical campaigns and their rules, as the campaigns page edits them (/campaigns/unify/).

Every save and delete goes through analytics.campaigns, which re-maps the sender campaigns in the
same transaction, so the admin and the page can never leave campaigns placed by stale rules.
"""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.db.models.fields.related import ForeignKey
from django.forms import ModelChoiceField, ModelForm
from django.http import HttpRequest

from analytics import campaigns
from analytics.campaign_forms import CanonicalCampaignForm, RuleForm
from analytics.models import Campaign, CampaignRule, CanonicalCampaign


class SenderCampaignInline(admin.TabularInline):
    """The sender campaigns it holds: placed by the rules, so only shown."""

    model = Campaign
    fk_name = "canonical"
    fields = ("sender", "external_id", "name", "utm_campaign", "destination_url")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "sender campaigns (placed by the rules)"

    def has_add_permission(
        self, request: HttpRequest, obj: CanonicalCampaign | None = None
    ) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: CanonicalCampaign | None = None
    ) -> bool:
        return False


class RuleInline(admin.TabularInline):
    model = CampaignRule
    form = RuleForm
    fields = ("field", "match", "pattern", "priority")
    extra = 0


class _SavesThroughCampaigns:
    """Saves and deletes that re-map (analytics.campaigns), whatever the admin view does."""

    def save_model(self, request: HttpRequest, obj: object, form: ModelForm, change: bool) -> None:
        campaigns.save(obj)

    def delete_model(self, request: HttpRequest, obj: object) -> None:
        campaigns.delete(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        campaigns.delete_all(queryset)


@admin.register(CanonicalCampaign)
class CanonicalCampaignAdmin(_SavesThroughCampaigns, admin.ModelAdmin):
    form = CanonicalCampaignForm
    list_display = ("name", "is_automatic", "sender_campaigns", "created_at")
    list_filter = ("is_automatic",)
    search_fields = ("name",)
    ordering = ("name",)
    inlines = [RuleInline, SenderCampaignInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CanonicalCampaign]:
        return super().get_queryset(request).annotate(held=Count("campaigns"))

    @admin.display(description="sender campaigns", ordering="held")
    def sender_campaigns(self, canonical: CanonicalCampaign) -> int:
        return canonical.held

    def has_change_permission(
        self, request: HttpRequest, obj: CanonicalCampaign | None = None
    ) -> bool:
        # An automatic campaign is named after its one sender campaign, and kept by the rules.
        if obj is not None and obj.is_automatic:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: CanonicalCampaign | None = None
    ) -> bool:
        if obj is not None and obj.is_automatic:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(
        self, request: HttpRequest, obj: CanonicalCampaign, form: ModelForm, change: bool
    ) -> None:
        # Re-mapped in save_related, once the rule inlines are saved too.
        obj.save()

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        campaigns.remap()


@admin.register(CampaignRule)
class CampaignRuleAdmin(_SavesThroughCampaigns, admin.ModelAdmin):
    form = RuleForm
    list_display = ("__str__", "canonical", "priority")
    list_select_related = ("canonical",)
    ordering = ("priority", "id")
    search_fields = ("pattern", "canonical__name")

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: object
    ) -> ModelChoiceField | None:
        if db_field.name == "canonical":
            kwargs["queryset"] = CanonicalCampaign.objects.filter(is_automatic=False)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
