"""Admin building blocks that stay fast at millions of rows.

A stock changelist runs several statements that scan the whole click table on every page view:
``COUNT(*)`` for the paginator, ``SELECT DISTINCT`` for a free-text column's filter choices and
for each level of the date hierarchy. These replacements answer the same questions from
PostgreSQL's statistics, a short-lived cache or an index (``MIN``/``MAX``), respectively.
"""

from datetime import date
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min, Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.text import capfirst

# Below this many rows an exact COUNT(*) is cheap, and an estimate would be visibly wrong.
ESTIMATE_THRESHOLD = 10_000


def estimated_row_count(model: type[Model], using: str) -> int:
    """The planner's row estimate for the model's table, as of the last (auto)ANALYZE.

    -1 when the table has never been analyzed (PostgreSQL 14+).
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return -1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [connection.ops.quote_name(model._meta.db_table)],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else -1


class EstimatedCountPaginator(Paginator):
    """Counts an unfiltered changelist from pg_class instead of a full-table COUNT(*).

    Filtered or searched lists (any WHERE clause) still get an exact count: the estimate is for
    the whole table only, and a filter usually narrows the rows enough for an index to count.
    """

    # Read by the changelist template to say the total is approximate.
    is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, QuerySet) and not queryset.query.where:
            estimate = estimated_row_count(queryset.model, queryset.db)
            if estimate >= ESTIMATE_THRESHOLD:
                self.is_estimate = True
                return estimate
        return super().count


class CachedValuesFilter(admin.SimpleListFilter):
    """A filter on the distinct values of a plain column, its choices cached for a while.

    Django's stock filter for such a column runs ``SELECT DISTINCT`` over the whole table on
    every changelist view; a value seen for the first time shows up once the cache expires.
    """

    field_name: str = ""
    cache_seconds = 600
    # Choices beyond this many are not worth a sidebar; the column is better searched.
    max_choices = 300

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        model = model_admin.model
        key = f"admin-filter:{model._meta.label_lower}:{self.field_name}"
        values = cache.get(key)
        if values is None:
            column = model._default_manager.order_by(self.field_name).values_list(
                self.field_name, flat=True
            )
            values = list(column.distinct()[: self.max_choices])
            cache.set(key, values, self.cache_seconds)
        return [(value, self.label(value)) for value in values]

    def label(self, value: str) -> str:
        return value or "(none)"

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.field_name: self.value()})


class ReadOnlyAdminMixin:
    """Rows written only by intake: viewable with the view (or change) permission, never edited.

    Without change permission Django renders the change page read-only and refuses a POST.
    """

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist for a table of millions: estimated count, no facets, cheap date hierarchy."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False  # a second COUNT(*), of the unfiltered table
    show_facets = admin.ShowFacets.NEVER  # facets count every filter choice: one scan each
    change_list_template = "admin/analytics/large_change_list.html"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        # The response is rendered lazily, so the changelist it built can still be read here.
        # Redirects and action responses (a CSV export) have no context.
        context = getattr(response, "context_data", None)
        if context and context.get("cl") is not None and self.date_hierarchy:
            context["date_periods"] = date_periods(context["cl"])
        return response


def date_periods(cl: ChangeList) -> dict[str, Any]:
    """The date hierarchy's links, from the bounds of the listed rows rather than DISTINCT.

    Django lists the years (months, days) that have rows with ``SELECT DISTINCT date_trunc()``
    over every matching row. Here the levels are every period between the first and last row,
    found with MIN/MAX, which an index on the column answers at once; an empty period within
    the range costs nothing but a link to an empty list.
    """
    field = cl.date_hierarchy
    keys = [f"{field}__year", f"{field}__month", f"{field}__day"]
    try:
        year, month, day = (int(cl.params[key]) if key in cl.params else None for key in keys)
    except ValueError:
        return {"show": False}

    def link(*values: int) -> str:
        return cl.get_query_string(dict(zip(keys, values, strict=False)), [f"{field}__"])

    first = last = None
    if day is None:
        bounds = cl.queryset.aggregate(first=Min(field), last=Max(field))
        if bounds["first"] is not None:
            first, last = timezone.localtime(bounds["first"]), timezone.localtime(bounds["last"])
    # As Django does: with nothing picked, start at the narrowest level the rows span.
    if year is None and month is None and first is not None and first.year == last.year:
        year = first.year
        if first.month == last.month:
            month = first.month

    if year is not None and month is not None and day is not None:
        picked = date(year, month, day)
        return {
            "show": True,
            "back": {"link": link(year, month), "title": _format(picked, "YEAR_MONTH_FORMAT")},
            "choices": [{"title": _format(picked, "MONTH_DAY_FORMAT")}],
        }
    if year is not None and month is not None:
        days = range(first.day, last.day + 1) if first else ()
        return {
            "show": True,
            "back": {"link": link(year), "title": str(year)},
            "choices": [
                {
                    "link": link(year, month, d),
                    "title": _format(date(year, month, d), "MONTH_DAY_FORMAT"),
                }
                for d in days
            ],
        }
    if year is not None:
        months = range(first.month, last.month + 1) if first else ()
        return {
            "show": True,
            "back": {"link": link(), "title": "All dates"},
            "choices": [
                {"link": link(year, m), "title": _format(date(year, m, 1), "YEAR_MONTH_FORMAT")}
                for m in months
            ],
        }
    years = range(first.year, last.year + 1) if first else ()
    return {
        "show": True,
        "back": None,
        "choices": [{"link": link(y), "title": str(y)} for y in years],
    }


def _format(value: date, format_name: str) -> str:
    return capfirst(formats.date_format(value, format_name))
