"""What the scheduler does every minute (analytics/tasks.py): report deliveries and alerts.

Every step is safe to run in several processes at once and again after a crash. A report period
gets one ReportDelivery row (a unique constraint), and a delivery is sent by whoever locks it
first (SKIP LOCKED), its status committed with the lock. The one window left: a process that dies
after the mail server took a message but before its commit sends that message again on retry,
which beats losing it.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from analytics import alerts, report_email
from analytics.report_models import ReportDelivery, ReportSchedule

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Periods a scheduler back from downtime still sends (a quarter of weeks, a year of months).
MAX_CATCH_UP = 12


def retry_delay(attempts: int) -> timedelta:
    """2, 4, 8... minutes after the 1st, 2nd, 3rd failure: about four hours over 8 attempts."""
    return timedelta(minutes=2**attempts)


def run(now: datetime | None = None) -> None:
    """One scheduler pass: queue the reports due, send what waits, check the alerts."""
    now = now or timezone.now()
    queue_due_reports(now)
    send_waiting_reports(now)
    alerts.check_all(now)
    alerts.send_waiting(now)


def queue_due_reports(now: datetime) -> int:
    """Create a delivery for each closed period of each active schedule, once ever (the unique
    period); the number created."""
    created = 0
    schedules = (
        ReportSchedule.objects.filter(is_active=True)
        .select_related("saved_view")
        .annotate(last_end=Max("deliveries__period_end"))
    )
    for schedule in schedules:
        try:
            periods = due_periods(schedule, now, schedule.last_end)
        except Exception:  # one broken view (a deleted campaign) holds up no other report
            log.exception("Report schedule %s could not be planned", schedule.pk)
            continue
        for start, end in periods:
            _, is_new = ReportDelivery.objects.get_or_create(
                schedule=schedule,
                period_start=start,
                defaults={"period_end": end, "created_at": now, "next_attempt_at": now},
            )
            created += is_new
    return created


def due_periods(
    schedule: ReportSchedule, now: datetime, last_end: datetime | None
) -> list[tuple[datetime, datetime]]:
    """The closed periods not reported yet, oldest first: the latest, and those a downtime of
    the scheduler left behind (at most MAX_CATCH_UP). None that ended before the schedule
    existed, or that the last delivery covers: its period ends at a local midnight, and a view
    moved to another time zone shifts the next period's end by up to a day, which must not make
    the same week due twice. ``last_end``: where the schedule's last delivery ended, if any."""
    covered = last_end + timedelta(days=1) if last_end else schedule.created_at
    tz = schedule.zone()
    periods: list[tuple[datetime, datetime]] = []
    start, end = schedule.last_closed_period(now, tz)
    while end > covered and len(periods) < MAX_CATCH_UP:
        periods.append((start, end))
        start, end = schedule.last_closed_period(start, tz)
    return periods[::-1]


def send_waiting_reports(now: datetime) -> int:
    """Send every delivery due now, each under its row lock; the number sent."""
    return drain(
        ReportDelivery.objects.filter(
            status=ReportDelivery.Status.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at"),
        lambda delivery: _send_report(delivery, now),
    )


def drain(queryset: object, handle: Callable[[object], bool]) -> int:
    """Lock the rows of ``queryset`` one at a time, skipping rows another process holds, and
    ``handle`` each (once per pass) in the transaction that holds its lock; how many it
    reported done."""
    done = 0
    seen: set[int] = set()
    while True:
        with transaction.atomic():
            row = queryset.exclude(pk__in=seen).select_for_update(skip_locked=True).first()
            if row is None:
                return done
            seen.add(row.pk)
            done += handle(row)


def _send_report(delivery: ReportDelivery, now: datetime) -> bool:
    schedule = delivery.schedule
    delivery.attempts += 1
    try:
        # A savepoint: a database error while building the report leaves the transaction
        # usable, so the failure is still recorded on the row.
        with transaction.atomic():
            recipients = schedule.recipient_list()
            report_email.message(schedule, delivery.period_start, now, recipients).send()
    except Exception as exc:  # any failure is recorded on the row and retried, never lost
        log.exception("Report delivery %s failed (attempt %s)", delivery.pk, delivery.attempts)
        delivery.error = f"{type(exc).__name__}: {exc}"
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = ReportDelivery.Status.FAILED
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.save()
        return False
    delivery.status = ReportDelivery.Status.SENT
    delivery.sent_at = now
    delivery.error = ""
    delivery.save()
    return True
