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
from django.utils import timezone

from analytics import alerts, report_email
from analytics.report_models import ReportDelivery, ReportSchedule

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


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
    """Create the delivery of each active schedule's latest closed period, once ever; the number
    created. Periods that ended before the schedule existed are not reported."""
    created = 0
    schedules = ReportSchedule.objects.filter(is_active=True).select_related("saved_view")
    for schedule in schedules:
        start, end = schedule.last_closed_period(now)
        if end <= schedule.created_at:
            continue
        _, is_new = ReportDelivery.objects.get_or_create(
            schedule=schedule,
            period_start=start,
            defaults={"period_end": end, "created_at": now, "next_attempt_at": now},
        )
        created += is_new
    return created


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
        report_email.message(schedule, delivery.period_start, now, schedule.recipient_list()).send()
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
