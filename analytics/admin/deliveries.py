"""Deliveries: each webhook request as received. Read-only, except that the body of a failed
delivery may be repaired and then reprocessed.

The body and headers come from the internet: they are always escaped (format_html), never marked
safe, so a payload carrying markup shows as text.
"""

import json
import logging
from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db import InterfaceError, OperationalError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from analytics import intake
from analytics.admin.base import CachedValuesFilter, LargeTableAdmin
from analytics.models import Delivery

logger = logging.getLogger(__name__)

# What the admin may show of a failure: enough to act on, not a wall of text.
_MAX_LISTED_FAILURES = 5
# Deliveries processed per transaction by the Reprocess action.
_REPROCESS_CHUNK = 500


def pretty_body(body: bytes) -> str:
    """The body as indented JSON when it parses, else its text with undecodable bytes replaced."""
    try:
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond the parser
        return body.decode("utf-8", errors="replace")
    # A JSON "\ud800" escape decodes to a lone surrogate, which UTF-8 cannot encode: the page
    # would fail to render. Show it as the escape it was sent as.
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


class EventTypeFilter(CachedValuesFilter):
    title = "event type"
    parameter_name = "event_type"
    field_name = "event_type"


class _BodyField(forms.CharField):
    def to_python(self, value: Any) -> str:
        # Browsers send textarea lines as CRLF; unedited text must compare equal to the initial.
        return super().to_python(value).replace("\r\n", "\n")


class DeliveryRepairForm(forms.ModelForm):
    """Edits a failed delivery's body as text; every other field belongs to intake.process."""

    repaired_body = _BodyField(
        label="Body",
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 24, "class": "vLargeTextField", "spellcheck": "false"}
        ),
        help_text="Correct the body, save, then run “Reprocess selected deliveries” on it in the "
        "list. The sender's signature is not checked again.",
    )

    class Meta:
        model = Delivery
        fields = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["repaired_body"].initial = pretty_body(bytes(self.instance.body))

    def save(self, commit: bool = True) -> Delivery:
        if "repaired_body" in self.changed_data:
            self.instance.body = self.cleaned_data["repaired_body"].encode("utf-8")
        return super().save(commit)


class _DeliveryChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        # A body may be 1 MB: a page of 100 rows must not fetch bodies to show a table.
        return super().get_queryset(request, exclude_parameters).defer("body", "headers")


@admin.register(Delivery)
class DeliveryAdmin(LargeTableAdmin):
    list_display = (
        "received_at",
        "endpoint",
        "event_type",
        "status",
        "short_error",
        "clicks_created",
        "duplicates",
        "ignored",
    )
    list_select_related = ("endpoint",)
    list_filter = ("status", "endpoint__sender", EventTypeFilter)
    # Newest first by primary key: no index serves "ORDER BY received_at" over all deliveries,
    # and ids grow with arrival. For the same reason no column is sortable.
    ordering = ("-pk",)
    sortable_by = ()
    raw_id_fields = ("endpoint",)
    actions = ("reprocess",)
    readonly_fields = (
        "endpoint",
        "received_at",
        "remote_addr",
        "status",
        "error",
        "event_type",
        "clicks_created",
        "duplicates",
        "ignored",
        "clicks_link",
        "attempts",
        "processed_at",
        "formatted_body",
        "headers_table",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "endpoint",
                    ("received_at", "remote_addr"),
                    "status",
                    "error",
                    "event_type",
                    ("clicks_created", "duplicates", "ignored"),
                    "clicks_link",
                    ("attempts", "processed_at"),
                )
            },
        ),
        ("Request as received", {"fields": ("formatted_body", "headers_table")}),
    )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _DeliveryChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # deliveries come from senders only

    def has_delete_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        return False  # the record of what was received is kept, whatever became of it

    def has_change_permission(self, request: HttpRequest, obj: Delivery | None = None) -> bool:
        # Without an object this decides the reprocess action; with one, whether the body of
        # this delivery may be repaired: only a failed one, since it has no clicks to disagree.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status == Delivery.Status.FAILED)

    def get_fieldsets(self, request: HttpRequest, obj: Delivery | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and self.has_change_permission(request, obj):
            fieldsets = (*fieldsets, ("Repair", {"fields": ("repaired_body",)}))
        return fieldsets

    def get_form(
        self, request: HttpRequest, obj: Delivery | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        if obj is not None and self.has_change_permission(request, obj):
            kwargs["form"] = DeliveryRepairForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: Delivery, form: forms.ModelForm, change: bool
    ) -> None:
        # Only the body: status and counts are intake.process's, which may be running right now.
        obj.save(update_fields=["body"])
        self.message_user(
            request,
            f"Saved the body of delivery {obj.pk}; reprocess it to store its clicks.",
            messages.INFO,
        )

    @admin.display(description="error")
    def short_error(self, delivery: Delivery) -> str:
        if not delivery.error:
            return ""
        return format_html(
            '<span title="{}">{}</span>', delivery.error, Truncator(delivery.error).chars(80)
        )

    @admin.display(description="clicks")
    def clicks_link(self, delivery: Delivery) -> str:
        url = reverse("admin:analytics_click_changelist") + f"?delivery__id__exact={delivery.pk}"
        return format_html('<a href="{}">Clicks stored from this delivery</a>', url)

    @admin.display(description="body")
    def formatted_body(self, delivery: Delivery) -> str:
        return format_html(
            '<pre class="delivery-body">{}</pre>',
            pretty_body(bytes(delivery.body)),
        )

    @admin.display(description="headers (secrets masked)")
    def headers_table(self, delivery: Delivery) -> str:
        headers = delivery.headers
        if not isinstance(headers, dict):  # written by webhooks._stored_headers: always a dict
            return format_html("<pre>{}</pre>", json.dumps(headers, indent=2))
        rows = format_html_join(
            "\n",
            '<tr><th scope="row">{}</th><td><code>{}</code></td></tr>',
            sorted((str(name), str(value)) for name, value in headers.items()),
        )
        return format_html('<table class="delivery-headers"><tbody>{}</tbody></table>', rows)

    @admin.action(description="Reprocess selected deliveries", permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        outcomes: Counter[str] = Counter()
        clicks = 0
        failures: list[str] = []
        for start in range(0, len(ids), _REPROCESS_CHUNK):
            chunk = ids[start : start + _REPROCESS_CHUNK]
            try:
                outcome = intake.process(chunk)
            except (OperationalError, InterfaceError):
                # The deliveries after these would fail the same way; none is marked failed.
                logger.warning("Database unavailable reprocessing deliveries from %s", chunk[0])
                self.message_user(
                    request,
                    f"The database became unavailable at delivery {chunk[0]}; it and the "
                    "deliveries after it were left as they were.",
                    messages.ERROR,
                )
                break
            outcomes.update(outcome.deliveries)
            clicks += outcome.clicks_created
            failures += [
                f"delivery {pk}: {Truncator(error).chars(200)}" for pk, error in outcome.failures
            ]

        level = messages.WARNING if failures else messages.SUCCESS
        self.message_user(request, reprocess_summary(outcomes, clicks), level)
        if failures:
            more = len(failures) - _MAX_LISTED_FAILURES
            listed = "; ".join(failures[:_MAX_LISTED_FAILURES]) + (
                f"; and {more} more" if more > 0 else ""
            )
            self.message_user(request, f"Still failing: {listed}.", messages.WARNING)


def reprocess_summary(outcomes: Counter[str], clicks: int) -> str:
    """E.g. "Reprocessed 3 deliveries: 2 processed, 1 failed; 2 clicks created."."""
    total = sum(outcomes.values())
    detail = ", ".join(
        f"{outcomes[status]} {status.label.lower()}"
        for status in Delivery.Status
        if outcomes[status]
    )
    deliveries = "delivery" if total == 1 else "deliveries"
    created = "click" if clicks == 1 else "clicks"
    return f"Reprocessed {total} {deliveries}: {detail or 'none'}; {clicks} {created} created."
