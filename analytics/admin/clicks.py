"""Clicks: facts written only by analytics.intake, so the admin lists, searches and exports them."""

from itertools import chain

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from analytics.admin.base import CachedValuesFilter, LargeTableAdmin, ReadOnlyAdminMixin
from analytics.exports import CLICK_COLUMNS, click_rows, csv_lines
from analytics.models import Click
from analytics.permissions import DASHBOARD_PERMISSION
from analytics.senders.normalize import country_name

# Without a byte order mark Excel reads the UTF-8 file in the local code page.
BOM = "\ufeff"


class CountryFilter(CachedValuesFilter):
    title = "country"
    parameter_name = "country"
    field_name = "country"

    def label(self, value: str) -> str:
        return f"{country_name(value)} ({value})" if value else "Unknown"


@admin.register(Click)
class ClickAdmin(ReadOnlyAdminMixin, LargeTableAdmin):
    list_display = (
        "occurred_at",
        "sender",
        "campaign_link",
        "country",
        "device",
        "browser",
        "referer",
        "is_unique",
        "is_bot",
        "is_qr",
    )
    list_select_related = ("campaign",)
    list_filter = ("sender", "device", CountryFilter, "is_bot", "bot_reason", "is_qr")
    date_hierarchy = "occurred_at"
    search_fields = ("url", "campaign__name", "city", "recipient__email", "sharer__email")
    search_help_text = "Part of the URL, campaign name, city, or recipient's or sharer's e-mail."
    ordering = ("-occurred_at",)
    # Only the indexed column: sorting millions of rows by anything else reads them all.
    sortable_by = ("occurred_at",)
    # Never edited, but a widget listing every delivery or contact must not even be possible.
    raw_id_fields = ("endpoint", "delivery", "campaign", "link", "recipient", "sharer")
    actions = ("export_csv",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "occurred_at",
                    "occurred_at_raw",
                    "received_at",
                    "sender",
                    "external_id",
                    "click_key",
                    "endpoint",
                    "delivery",
                )
            },
        ),
        (
            "Campaign",
            {"fields": ("campaign", "link", "url", "utm_source", "utm_medium", "utm_campaign")},
        ),
        (
            "Visitor",
            {
                "fields": (
                    "recipient",
                    "sharer",
                    "visitor",
                    "ip",
                    "is_unique",
                    "is_bot",
                    "bot_reason",
                    "is_qr",
                )
            },
        ),
        (
            "Place and device",
            {
                "fields": (
                    ("country", "region", "city", "continent"),
                    ("latitude", "longitude"),
                    ("device", "browser", "os"),
                    "referer",
                    "referer_url",
                )
            },
        ),
    )

    @admin.display(description="campaign")
    def campaign_link(self, click: Click) -> str | None:
        if click.campaign is None:
            return None  # the admin shows its empty-value dash
        url = reverse("admin:analytics_campaign_change", args=[click.campaign_id])
        return format_html('<a href="{}">{}</a>', url, click.campaign)

    def has_export_permission(self, request: HttpRequest) -> bool:
        # Exporting is the dashboard's "export reports" right, on top of seeing clicks here.
        # One check for both: the admin grants an action when ANY of its permissions holds.
        return self.has_view_permission(request) and request.user.has_perm(DASHBOARD_PERMISSION)

    @admin.action(description="Export selected clicks as CSV", permissions=["export"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Click]) -> StreamingHttpResponse:
        # The BOM makes Excel read the file as UTF-8; click_rows streams through a server-side
        # cursor, so "select all" across millions of clicks runs in constant memory.
        lines = chain([BOM], csv_lines(CLICK_COLUMNS, click_rows(queryset)))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        filename = f"clicks-selected-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
