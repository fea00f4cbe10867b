"""Scheduled e-mail reports and alert rules on saved views (imported by analytics.models).

What is due and what was sent are rows, so any number of scheduler processes, restarted at any
time, agree: a report is sent once per period (ReportDelivery's unique period) and an alert once
per incident (one open AlertIncident per rule).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils import timezone

from analytics.periods import midnight
from analytics.sharing_models import SavedView

MAX_RECIPIENTS = 50


def split_recipients(text: str) -> list[str]:
    """Addresses separated by commas, semicolons, spaces or new lines; duplicates dropped."""
    for separator in ",;\n\r\t":
        text = text.replace(separator, " ")
    return list(dict.fromkeys(address.strip().lower() for address in text.split() if address))


def validate_recipients(text: str) -> None:
    addresses = split_recipients(text)
    if not addresses:
        raise ValidationError("Give at least one e-mail address.")
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError(f"At most {MAX_RECIPIENTS} addresses, got {len(addresses)}.")
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError(f"Not an e-mail address: {', '.join(bad[:5])}.")


class _Notified(models.Model):
    """Who receives the e-mails, and whether the rule or schedule runs at all."""

    recipients = models.TextField(
        validators=[validate_recipients],
        help_text="E-mail addresses, separated by commas or new lines.",
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def recipient_list(self) -> list[str]:
        return split_recipients(self.recipients)


class ReportSchedule(_Notified):
    """A saved view's numbers e-mailed after every week (Monday to Sunday) or month, in the
    view's time zone."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly, on Mondays"
        MONTHLY = "monthly", "Monthly, on the 1st"

    saved_view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="reports")
    frequency = models.CharField(max_length=10, choices=Frequency.choices)

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} report of {self.saved_view}"

    def zone(self) -> ZoneInfo:
        return self.saved_view.click_filter().tz

    def last_closed_period(
        self, now: datetime, tz: ZoneInfo | None = None
    ) -> tuple[datetime, datetime]:
        """The latest whole week or month that ended at or before ``now``, as aware datetimes
        at local midnights of the view's zone (``tz``, when the caller has it)."""
        tz = tz or self.zone()
        today = now.astimezone(tz).date()
        if self.frequency == self.Frequency.WEEKLY:
            end = today - timedelta(days=today.weekday())
            start = end - timedelta(days=7)
        else:
            end = today.replace(day=1)
            start = (end - timedelta(days=1)).replace(day=1)
        return midnight(start, tz), midnight(end, tz)


class ReportDelivery(models.Model):
    """One report e-mail for one period: created once (the constraint), then sent."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed at every attempt"

    schedule = models.ForeignKey(
        ReportSchedule, on_delete=models.CASCADE, related_name="deliveries"
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # After a failed attempt, the next one waits (analytics.scheduling.retry_delay).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True, help_text="Why the last attempt failed.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "report deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "period_start"], name="report_delivery_once_per_period"
            ),
        ]
        indexes = [
            # The scheduler's send pass: deliveries waiting, soonest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="report_delivery_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} for {self.period_start:%Y-%m-%d}: {self.get_status_display()}"


class AlertRule(_Notified):
    """A condition checked every minute; an e-mail when it starts to hold and when it stops."""

    class Kind(models.TextChoices):
        CLICKS_DROP = "clicks_drop", "Clicks per hour below X% of the same hour last week"
        CLICKS_SPIKE = "clicks_spike", "Clicks per hour above X% of the same hour last week"
        NO_DELIVERY = "no_delivery", "No delivery from an endpoint in N hours"
        BOT_SHARE = "bot_share", "Bot share of an hour's clicks above X%"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    saved_view = models.ForeignKey(
        SavedView,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        help_text="The clicks the rule watches (click rules).",
    )
    endpoint = models.ForeignKey(
        "analytics.WebhookEndpoint",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        help_text="The endpoint the rule watches (no-delivery rules).",
    )
    threshold = models.PositiveIntegerField(
        help_text="X (a percentage) for click and bot rules, N (hours) for no-delivery rules."
    )

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.kind == self.Kind.NO_DELIVERY and not self.endpoint_id:
            errors["endpoint"] = "Choose the endpoint to watch."
        if self.kind != self.Kind.NO_DELIVERY and not self.saved_view_id:
            errors["saved_view"] = "Choose the saved view whose clicks to watch."
        low, high, message = _THRESHOLDS.get(self.kind, (0, 0, ""))
        if message and self.threshold is not None and not low <= self.threshold <= high:
            errors["threshold"] = message
        if errors:
            raise ValidationError(errors)

    def describe(self) -> str:
        """The condition in words, for pages and e-mails."""
        if self.kind == self.Kind.NO_DELIVERY:
            return f"No delivery from {self.endpoint} in {self.threshold} hours"
        if self.kind == self.Kind.BOT_SHARE:
            return f"Bots above {self.threshold}% of an hour's clicks in {self.saved_view}"
        word = "below" if self.kind == self.Kind.CLICKS_DROP else "above"
        return (
            f"Clicks per hour in {self.saved_view} {word} {self.threshold}% "
            "of the same hour last week"
        )

    def open_incident(self) -> "AlertIncident | None":
        return self.incidents.filter(cleared_at__isnull=True).first()


# kind -> the thresholds that mean something, and what to say about the others.
_THRESHOLDS = {
    AlertRule.Kind.CLICKS_DROP: (1, 99, "A drop is below 100%: give 1 to 99."),
    AlertRule.Kind.CLICKS_SPIKE: (101, 100_000, "A spike is above 100%: give 101 or more."),
    AlertRule.Kind.BOT_SHARE: (1, 99, "Give the bot share as a percentage from 1 to 99."),
    AlertRule.Kind.NO_DELIVERY: (1, 24 * 30, "Give the hours without deliveries: 1 to 720."),
}


class AlertIncident(models.Model):
    """A time a rule's condition held: opened (and e-mailed) once, cleared (and e-mailed) once."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="incidents")
    opened_at = models.DateTimeField(default=timezone.now)
    opened_detail = models.TextField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_detail = models.TextField(blank=True)
    opened_sent_at = models.DateTimeField(null=True, blank=True)
    cleared_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule"],
                condition=models.Q(cleared_at__isnull=True),
                name="alert_one_open_incident_per_rule",
            ),
        ]
        indexes = [
            # The scheduler's pass over e-mails not yet sent (a failed send is retried).
            models.Index(
                fields=["rule"],
                condition=models.Q(opened_sent_at__isnull=True)
                | models.Q(cleared_at__isnull=False, cleared_sent_at__isnull=True),
                name="alert_incident_unsent",
            ),
        ]

    def __str__(self) -> str:
        state = f"cleared {self.cleared_at:%Y-%m-%d %H:%M}" if self.cleared_at else "open"
        return f"{self.rule}: {self.opened_at:%Y-%m-%d %H:%M}, {state}"
