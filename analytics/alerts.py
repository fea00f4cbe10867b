"""Alert rules, checked every minute by the scheduler: an incident opens when a rule's condition
starts to hold and clears when it stops, and each of those sends one e-mail.

Click rules judge the last whole hour that ended at least SETTLE ago (clicks still in the
processing queue would otherwise look like a drop), against the same hour a week before.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.template.loader import render_to_string
from django.urls import reverse

from analytics.models import Click, Delivery
from analytics.report_models import AlertIncident, AlertRule
from analytics.sharing_models import site_url

log = logging.getLogger(__name__)

SETTLE = timedelta(minutes=5)
# Hours with fewer clicks than this are not judged: 2 clicks against 6 is not a drop.
MIN_CLICKS = 10


@dataclass(frozen=True)
class Reading:
    holds: bool
    detail: str


def last_hour(now: datetime) -> tuple[datetime, datetime]:
    end = (now - SETTLE).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(hours=1), end


def measure(rule: AlertRule, now: datetime) -> Reading | None:
    """Whether the rule's condition holds now, and the figures that say so; None when the data
    cannot say (too few clicks a week ago to call a drop)."""
    if rule.kind == AlertRule.Kind.NO_DELIVERY:
        return _no_delivery(rule, now)
    f = rule.saved_view.click_filter(now=now)
    start, end = last_hour(now)
    hour = f"{start.astimezone(f.tz):%b %-d, %H:%M}\u2013{end.astimezone(f.tz):%H:%M} ({f.tz.key})"
    if rule.kind == AlertRule.Kind.BOT_SHARE:
        counts = Click.objects.filter(
            f.dimension_q(), occurred_at__gte=start, occurred_at__lt=end
        ).aggregate(clicks=Count("pk"), bots=Count("pk", filter=Q(is_bot=True)))
        if counts["clicks"] < MIN_CLICKS:
            return Reading(False, f"{counts['clicks']} clicks {hour}: too few to judge.")
        share = counts["bots"] / counts["clicks"]
        return Reading(
            share * 100 > rule.threshold,
            f"{counts['bots']} of the {counts['clicks']} clicks {hour} were bots or scanners "
            f"({share:.0%}; the alert is above {rule.threshold}%).",
        )
    now_q = Q(occurred_at__gte=start, occurred_at__lt=end)
    before_q = Q(
        occurred_at__gte=_week_before(start, f.tz), occurred_at__lt=_week_before(end, f.tz)
    )
    counts = Click.objects.filter(f.dimension_q() & f.bot_q() & (now_q | before_q)).aggregate(
        current=Count("pk", filter=now_q), before=Count("pk", filter=before_q)
    )
    current, before = counts["current"], counts["before"]
    ratio = f"{current / before:.0%} of" if before else "against"
    detail = (
        f"{current:,} clicks {hour}, {ratio} {before:,} in the same hour last week "
        f"(the alert is {'below' if rule.kind == AlertRule.Kind.CLICKS_DROP else 'above'} "
        f"{rule.threshold}%)."
    )
    if rule.kind == AlertRule.Kind.CLICKS_DROP:
        if before < MIN_CLICKS:
            return None
        return Reading(current * 100 < before * rule.threshold, detail)
    if current < MIN_CLICKS:
        return Reading(False, detail)
    return Reading(current * 100 > max(before, 1) * rule.threshold, detail)


def _week_before(moment: datetime, tz: ZoneInfo) -> datetime:
    """The same wall-clock time a week earlier in the view's zone: after a clock change the same
    hour of the day, not the same instant minus 168 hours."""
    return (moment.astimezone(tz) - timedelta(days=7)).astimezone(UTC)


def _no_delivery(rule: AlertRule, now: datetime) -> Reading:
    last = Delivery.objects.filter(endpoint=rule.endpoint_id).aggregate(last=Max("received_at"))
    since = last["last"] or rule.created_at
    hours = (now - since) / timedelta(hours=1)
    when = since.astimezone(UTC)
    what = "The last delivery" if last["last"] else "No delivery since the rule was made; it"
    return Reading(
        hours >= rule.threshold,
        f"{what} from {rule.endpoint} arrived {when:%b %-d, %H:%M} UTC, {hours:.1f} hours ago "
        f"(the alert is at {rule.threshold} hours).",
    )


def check_all(now: datetime) -> None:
    rules = AlertRule.objects.filter(is_active=True).select_related("saved_view", "endpoint")
    for rule in rules:
        try:
            reading = measure(rule, now)
        except Exception:  # one broken rule (a view naming a deleted campaign) stops no other
            log.exception("Alert rule %s could not be checked", rule.pk)
            continue
        if reading is not None:
            apply(rule, reading, now)


def apply(rule: AlertRule, reading: Reading, now: datetime) -> None:
    """Open an incident when the condition starts to hold, clear it when it stops; the unique
    open incident per rule makes a second process's attempt a no-op."""
    if reading.holds:
        try:
            with transaction.atomic():
                AlertIncident.objects.create(rule=rule, opened_at=now, opened_detail=reading.detail)
        except IntegrityError:
            pass  # already open
    else:
        AlertIncident.objects.filter(rule=rule, cleared_at__isnull=True).update(
            cleared_at=now, cleared_detail=reading.detail
        )


def send_waiting(now: datetime) -> int:
    """E-mail every opening and clearing not yet e-mailed, each under its row lock."""
    from analytics.scheduling import drain  # scheduling imports this module

    waiting = AlertIncident.objects.filter(
        Q(opened_sent_at__isnull=True) | Q(cleared_at__isnull=False, cleared_sent_at__isnull=True)
    ).order_by("opened_at")
    return drain(waiting, lambda incident: _notify(incident, now))


def _notify(incident: AlertIncident, now: datetime) -> bool:
    # An incident that opened and cleared between two passes sends both, in order.
    states = []
    if incident.opened_sent_at is None:
        states.append("firing")
    if incident.cleared_at is not None and incident.cleared_sent_at is None:
        states.append("cleared")
    for state in states:
        try:
            message(incident, state).send()
        except Exception:  # retried next minute; the row still says it was not sent
            log.exception("Alert e-mail for incident %s (%s) failed", incident.pk, state)
            return False
        if state == "firing":
            incident.opened_sent_at = now
        else:
            incident.cleared_sent_at = now
        incident.save(update_fields=["opened_sent_at", "cleared_sent_at"])
    return True


def message(incident: AlertIncident, state: str) -> EmailMultiAlternatives:
    rule = incident.rule
    view = rule.saved_view
    context = {
        "rule": rule,
        "incident": incident,
        "state": state,
        "condition": rule.describe(),
        "detail": incident.opened_detail if state == "firing" else incident.cleared_detail,
        # A rule made in the admin may watch an endpoint without a view.
        "dashboard_url": site_url(view.get_absolute_url() if view else reverse("intake-health")),
        "manage_url": site_url(
            view.get_manage_url()
            if view
            else reverse("admin:analytics_alertrule_change", args=[rule.pk])
        ),
    }
    prefix = "Alert" if state == "firing" else "Resolved"
    subject = " ".join(f"[{prefix}] {rule.name}".split())  # a header: no line breaks
    text = render_to_string("emails/alert.txt", context)
    email = EmailMultiAlternatives(subject, text, to=rule.recipient_list())
    email.attach_alternative(render_to_string("emails/alert.html", context), "text/html")
    return email
