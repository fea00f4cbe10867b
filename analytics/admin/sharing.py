"""Saved views, shared links, report schedules and alert rules, for staff.

Marketers manage these on each view's page (/views/<id>/); the admin is for looking across
everyone's, revoking a link, and the history: report deliveries and alert incidents are
read-only records of what was sent.
"""

from django.contrib import admin
from django.http import HttpRequest

from analytics.models import (
    AlertIncident,
    AlertRule,
    ReportDelivery,
    ReportSchedule,
    SavedView,
    SharedLink,
)


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "visibility", "query", "updated_at"]
    list_filter = ["visibility"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]


@admin.register(SharedLink)
class SharedLinkAdmin(admin.ModelAdmin):
    list_display = [
        "label",
        "saved_view",
        "created_by",
        "expires_at",
        "revoked_at",
        "last_viewed_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["label", "saved_view__name"]
    list_select_related = ["saved_view", "created_by"]
    readonly_fields = ["token", "last_viewed_at", "created_at"]
    raw_id_fields = ["saved_view", "created_by"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: HttpRequest, queryset: object) -> None:
        for link in queryset:
            link.revoke()
        self.message_user(request, "Revoked: those links no longer open.")


class ReportDeliveryInline(admin.TabularInline):
    model = ReportDelivery
    extra = 0
    can_delete = False
    fields = ["period_start", "period_end", "status", "attempts", "sent_at", "error"]
    readonly_fields = fields
    ordering = ["-period_start"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    list_display = ["saved_view", "frequency", "recipients", "is_active", "created_at"]
    list_filter = ["frequency", "is_active"]
    list_select_related = ["saved_view"]
    raw_id_fields = ["saved_view", "created_by"]
    inlines = [ReportDeliveryInline]


class AlertIncidentInline(admin.TabularInline):
    model = AlertIncident
    extra = 0
    can_delete = False
    fields = ["opened_at", "opened_detail", "opened_sent_at", "cleared_at", "cleared_sent_at"]
    readonly_fields = fields
    ordering = ["-opened_at"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "threshold", "saved_view", "endpoint", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    list_select_related = ["saved_view", "endpoint"]
    raw_id_fields = ["saved_view", "created_by"]
    inlines = [AlertIncidentInline]
