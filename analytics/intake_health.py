"""Intake health for operators: per webhook endpoint, what arrived, what failed, what still waits.

The figures cost two statements whatever the number of endpoints: the endpoints, each with its
last delivery (a correlated subquery that ``delivery_endpoint_recent`` answers with one index
probe), and one aggregate over deliveries grouped by endpoint with conditional counts, sums and
percentiles. The spool adds one read of the local SQLite file.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from analytics import spool
from analytics.models import Delivery, WebhookEndpoint

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# An endpoint "usually receives" when it had a delivery in this long before its silent hours.
USUAL_ACTIVITY = timedelta(days=7)


@dataclass(frozen=True)
class HealthWarning:
    kind: str  # disabled, silent, failed, backlog, spooled: also the badge's CSS modifier
    label: str
    message: str


@dataclass(frozen=True)
class EndpointHealth:
    endpoint: WebhookEndpoint
    last_delivery: datetime | None
    deliveries_hour: int
    deliveries_day: int
    clicks_hour: int
    clicks_day: int
    failed_day: int
    failed_total: int
    queued: int
    # The processing backlog: how long the oldest queued delivery has waited.
    backlog: timedelta | None
    spooled: int
    # How late clicks reach us (receipt minus click time), over the last day's deliveries.
    lag_p50: timedelta | None
    lag_p95: timedelta | None
    warnings: tuple[HealthWarning, ...]

    @property
    def backlog_label(self) -> str:
        return format_duration(self.backlog)

    @property
    def lag_p50_label(self) -> str:
        return format_duration(self.lag_p50)

    @property
    def lag_p95_label(self) -> str:
        return format_duration(self.lag_p95)


class _PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``.

    Works on intervals as well as numbers; NULLs (deliveries without clicks) are left out.
    """

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: str, fraction: float, **extra: Any) -> None:
        # A float formatted into the SQL: ours, never user input.
        super().__init__(
            expression, fraction=repr(float(fraction)), output_field=DurationField(), **extra
        )


def endpoint_health(
    now: datetime, spooled: Mapping[int, int] | None = None
) -> list[EndpointHealth]:
    """Every endpoint's figures and warnings as of ``now``, ordered as in the admin.

    ``spooled`` is this host's ``spool.pending_by_endpoint()``, read here when not given.
    """
    if spooled is None:
        spooled = spool.pending_by_endpoint()
    figures = _delivery_figures(now)
    endpoints = WebhookEndpoint.objects.annotate(last_delivery=last_delivery()).order_by(
        "sender", "name"
    )
    empty = dict.fromkeys(_COUNTS, 0) | {"oldest_queued": None, "lag_p50": None, "lag_p95": None}
    result = []
    for endpoint in endpoints:
        row = figures.get(endpoint.pk, empty)
        oldest = row["oldest_queued"]
        health = EndpointHealth(
            endpoint=endpoint,
            last_delivery=endpoint.last_delivery,
            **{name: row[name] for name in _COUNTS},
            backlog=now - oldest if oldest else None,
            spooled=spooled.get(endpoint.pk, 0),
            lag_p50=row["lag_p50"],
            lag_p95=row["lag_p95"],
            warnings=(),
        )
        result.append(replace(health, warnings=_warnings(health, now)))
    return result


def last_delivery() -> Subquery:
    """An endpoint's newest delivery time, for ``WebhookEndpoint`` querysets."""
    newest = Delivery.objects.filter(endpoint=OuterRef("pk")).order_by("-received_at")
    return Subquery(newest.values("received_at")[:1])


def with_intake_figures(
    endpoints: QuerySet[WebhookEndpoint], now: datetime
) -> QuerySet[WebhookEndpoint]:
    """Endpoints with ``last_delivery``, ``queued`` and ``failed_day`` (the admin's columns).

    Correlated subqueries rather than a join: each reads only its endpoint's rows through an
    index, where a join would aggregate every delivery the endpoints ever received.
    """
    return endpoints.annotate(
        last_delivery=last_delivery(),
        queued=_delivery_count(status=Delivery.Status.RECEIVED),
        failed_day=_delivery_count(status=Delivery.Status.FAILED, received_at__gte=now - DAY),
    )


def format_duration(value: timedelta | None) -> str:
    """A short human duration: "8.2 s", "14 min", "3 h 5 min", "2 d 4 h"; a dash for none.

    A negative one is kept as such: clicks "from the future" mean a wrong time zone or clock.
    """
    if value is None:
        return "\N{EN DASH}"
    sign = "\N{MINUS SIGN}" if value < timedelta(0) else ""
    seconds = abs(value.total_seconds())
    if seconds < 10:
        return f"{sign}{seconds:.1f} s"
    if seconds < 60:
        return f"{sign}{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{sign}{hours} h {minutes} min" if minutes else f"{sign}{hours} h"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h" if hours else f"{sign}{days} d"


_COUNTS = (
    "deliveries_hour",
    "deliveries_day",
    "clicks_hour",
    "clicks_day",
    "failed_day",
    "failed_total",
    "queued",
)


def _delivery_figures(now: datetime) -> dict[int, dict[str, Any]]:
    """One aggregate statement: every endpoint's counts, backlog and lag percentiles."""
    last_hour = Q(received_at__gte=now - HOUR)
    last_day = Q(received_at__gte=now - DAY)
    failed = Q(status=Delivery.Status.FAILED)
    queued = Q(status=Delivery.Status.RECEIVED)
    rows = (
        # Only the rows some figure reads: the last day's, and failed or queued ones of any age.
        # The first half names every status so that the (status, received_at) index can serve
        # it too (PostgreSQL 18 may skip-scan delivery_endpoint_recent instead): never a scan
        # of every delivery ever received.
        Delivery.objects.filter(Q(status__in=Delivery.Status.values) & last_day | failed | queued)
        .order_by()
        .values("endpoint_id")
        .annotate(
            deliveries_hour=Count("pk", filter=last_hour),
            deliveries_day=Count("pk", filter=last_day),
            clicks_hour=Sum("clicks_created", filter=last_hour, default=0),
            clicks_day=Sum("clicks_created", filter=last_day, default=0),
            failed_day=Count("pk", filter=failed & last_day),
            failed_total=Count("pk", filter=failed),
            queued=Count("pk", filter=queued),
            oldest_queued=Min("received_at", filter=queued),
            lag_p50=_PercentileCont("click_lag", 0.5, filter=last_day),
            lag_p95=_PercentileCont("click_lag", 0.95, filter=last_day),
        )
    )
    return {row.pop("endpoint_id"): row for row in rows}


def _delivery_count(**filters: Any) -> Coalesce:
    deliveries = Delivery.objects.filter(endpoint=OuterRef("pk"), **filters).order_by()
    return Coalesce(Subquery(deliveries.values("endpoint").annotate(n=Count("pk")).values("n")), 0)


def _warnings(health: EndpointHealth, now: datetime) -> tuple[HealthWarning, ...]:
    warnings = []
    silence = timedelta(hours=settings.INTAKE_SILENCE_HOURS)
    backlog_limit = timedelta(seconds=settings.INTAKE_BACKLOG_WARNING_SECONDS)
    last = health.last_delivery
    if not health.endpoint.is_active:
        warnings.append(
            HealthWarning(
                "disabled",
                "Disabled",
                "Disabled here: its URL answers 404, so the sender's deliveries are refused "
                "and lost (and count as failures towards the sender disabling its webhook).",
            )
        )
    # A disabled endpoint's silence is expected; the warning above says why.
    elif last is not None and now - silence - USUAL_ACTIVITY <= last < now - silence:
        warnings.append(
            HealthWarning(
                "silent",
                "Silent",
                f"Nothing received for {format_duration(now - last)}, though deliveries arrived "
                "in the week before: check that the sender has not disabled its webhook and "
                "that its secret or API key still matches.",
            )
        )
    if health.failed_day:
        warnings.append(
            HealthWarning(
                "failed",
                "Failed",
                f"{health.failed_day} failed deliver{'y' if health.failed_day == 1 else 'ies'} "
                "in the last 24 h: see the error on each, fix the cause, then reprocess them.",
            )
        )
    if health.backlog is not None and health.backlog > backlog_limit:
        warnings.append(
            HealthWarning(
                "backlog",
                "Backlog",
                f"The oldest queued delivery has waited {format_duration(health.backlog)}: is "
                "the processing worker (manage.py run_worker) running and keeping up?",
            )
        )
    if health.spooled:
        warnings.append(
            HealthWarning(
                "spooled",
                "Spooled",
                f"{health.spooled} deliver{'y' if health.spooled == 1 else 'ies'} accepted while "
                "PostgreSQL was away still wait in this host's spool; the worker on this host "
                "moves them over.",
            )
        )
    return tuple(warnings)
