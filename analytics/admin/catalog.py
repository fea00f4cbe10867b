"""Campaigns, links and contacts: upserted by intake from each event, so read-only here.

An edit would not last: the next event for the same campaign, link or person writes the sender's
values back.
"""

from django.contrib import admin
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from analytics.admin.base import ReadOnlyAdminMixin
from analytics.models import Campaign, Click, Contact, Link


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "display_name",
        "sender",
        "external_id",
        "status",
        "first_seen_at",
        "click_total",
    )
    list_display_links = ("display_name", "external_id")
    list_filter = ("sender",)
    search_fields = ("name", "external_id")
    ordering = ("-first_seen_at",)
    readonly_fields = ("click_total",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        # A correlated COUNT in the same query, not a query per row. A subquery rather than a
        # JOIN + GROUP BY: PostgreSQL evaluates it for the page's rows only, each an index-only
        # count on click_campaign_time, and the paginator's count() leaves it out entirely.
        clicks = (
            Click.objects.filter(campaign=OuterRef("pk"))
            .order_by()
            .values("campaign")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return super().get_queryset(request).annotate(clicks_total=Coalesce(Subquery(clicks), 0))

    @admin.display(description="name", ordering="name")
    def display_name(self, campaign: Campaign) -> str:
        return str(campaign)  # the external id when the sender gave no name

    @admin.display(description="clicks", ordering="clicks_total")
    def click_total(self, campaign: Campaign) -> SafeString:
        url = reverse("admin:analytics_click_changelist") + f"?campaign__id__exact={campaign.pk}"
        return format_html('<a href="{}">{}</a>', url, campaign.clicks_total)


@admin.register(Link)
class LinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "sender", "destination_url", "utm_campaign", "first_seen_at")
    list_filter = ("sender",)
    search_fields = ("short_link", "key", "external_id", "destination_url")
    ordering = ("-first_seen_at",)


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("email", "name", "company", "sender", "first_seen_at")
    list_filter = ("sender",)
    search_fields = ("email", "name", "company", "external_id")
    ordering = ("-first_seen_at",)
