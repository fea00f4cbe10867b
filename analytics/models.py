import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.postgres.functions import RandomUUID
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models.functions import Lower, Now
from django.urls import reverse
from django.utils import timezone

from analytics.bot_reasons import BotReason
from analytics.senders import SENDERS, sender_choices
from analytics.senders.base import Device  # with the parsers, which must not import the models

# The senders as an enum (Sender.DUB, Sender.values, Sender("dub").label), derived from the
# registry when the app loads. The model fields' choices read the registry itself, through a
# callable, so a sender added later needs no migration.
Sender = models.TextChoices(
    "Sender", [(key.upper(), (key, spec.label)) for key, spec in SENDERS.items()]
)

# How long a rotated-out token or secret still works: time to update the sender's settings.
ROTATION_GRACE = timedelta(hours=24)


def generate_token() -> str:
    return secrets.token_urlsafe(32)


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{value!r} is not an IANA time zone such as 'Europe/Berlin'."
        ) from None


class WebhookEndpoint(models.Model):
    """One URL a sender posts to. A marketer may connect several per sender (two Dub workspaces)."""

    sender = models.CharField(max_length=20, choices=sender_choices)
    name = models.CharField(max_length=100)
    token = models.CharField(
        max_length=100,
        default=generate_token,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9_-]{16,}$",
                "Use at least 16 letters, digits, '-' or '_': the token is part of the URL.",
            )
        ],
    )
    secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="The signing secret or API key the sender authenticates with, if it has one.",
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone],
        help_text="Zone of the naive timestamps this sender sends. Blank: the sender's default.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # After a rotation the old token and secret keep working for a grace period, so no delivery
    # is refused while the sender's settings are being updated.
    previous_token = models.CharField(max_length=100, blank=True)
    previous_token_expires_at = models.DateTimeField(null=True, blank=True)
    previous_secret = models.CharField(max_length=200, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token"], name="webhook_endpoint_unique_token"),
        ]

    def __str__(self) -> str:
        return f"{self.get_sender_display()}: {self.name}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.time_zone:
            spec = SENDERS.get(self.sender)
            self.time_zone = spec.default_time_zone if spec else "UTC"
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("webhook", kwargs={"sender": self.sender, "token": self.token})

    def clean(self) -> None:
        spec = SENDERS.get(self.sender)  # an unknown sender is clean_fields' error
        if spec and self.secret and not spec.takes_secret:
            raise ValidationError({"secret": spec.secret_refusal()})

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def valid_tokens(self) -> list[str]:
        return [self.token, *self._previous(self.previous_token, self.previous_token_expires_at)]

    def valid_secrets(self) -> list[str]:
        """The secrets a delivery may be signed with; empty when the endpoint has none."""
        if not self.secret:
            return []
        return [self.secret, *self._previous(self.previous_secret, self.previous_secret_expires_at)]

    def rotate_token(self, grace: timedelta = ROTATION_GRACE) -> None:
        self.previous_token, self.previous_token_expires_at = self.token, timezone.now() + grace
        self.token = generate_token()
        self.save()

    def rotate_secret(self, new_secret: str, grace: timedelta = ROTATION_GRACE) -> None:
        self.previous_secret, self.previous_secret_expires_at = self.secret, timezone.now() + grace
        self.secret = new_secret
        self.save()

    @staticmethod
    def _previous(value: str, expires_at: datetime | None) -> list[str]:
        return [value] if value and expires_at and expires_at > timezone.now() else []


class Delivery(models.Model):
    """One webhook request exactly as received, kept whatever became of it."""

    class Status(models.TextChoices):
        # Accepted and durable, waiting for the processing worker (analytics.intake).
        RECEIVED = "received", "Received (queued)"
        PROCESSED = "processed", "Processed"
        DUPLICATE = "duplicate", "Duplicate"
        IGNORED = "ignored", "Ignored"
        # A sender's "send test event" button: kept, never counted.
        TEST = "test", "Test event"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT)
    received_at = models.DateTimeField(default=timezone.now)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    headers = models.JSONField(default=dict, help_text="Selected headers, secrets masked.")
    body = models.BinaryField(help_text="The request body, byte for byte.")
    event_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    clicks_created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    ignored = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    # How late the delivery's newest click reached us (received_at - its occurred_at); the
    # intake health page watches it.
    click_lag = models.DurationField(null=True, blank=True)
    # Set on deliveries accepted into the local spool while PostgreSQL was away; replaying the
    # spool inserts each one once whatever happens mid-replay (ON CONFLICT on this id).
    spool_id = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["spool_id"],
                condition=models.Q(spool_id__isnull=False),
                name="delivery_unique_spool_id",
            ),
        ]
        indexes = [
            # The processing worker's queue: the oldest deliveries still to process.
            models.Index(
                fields=["id"],
                condition=models.Q(status="received"),
                name="delivery_queue",
            ),
            # reprocess_deliveries and the admin's status filter: "failed since <date>".
            models.Index(fields=["status", "received_at"], name="delivery_status_since"),
            # An endpoint's recent deliveries, newest first.
            models.Index(fields=["endpoint", "-received_at"], name="delivery_endpoint_recent"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.status})"


class CanonicalCampaign(models.Model):
    """One campaign as the marketer names it, whatever each tool calls it ("Black Friday").

    Every sender campaign belongs to exactly one: a marketer's, through ``CampaignRule``, or
    else one of its own (``is_automatic``), named after it. The dashboard, the API and the CSV
    count by these; the sender campaigns are one level below.
    """

    name = models.CharField(max_length=300)
    # Made for a single sender campaign no rule claims; removed when a rule claims it.
    is_automatic = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Automatic ones may share a name (two tools with a "Newsletter"); a marketer's may not.
            models.UniqueConstraint(
                Lower("name"),
                condition=models.Q(is_automatic=False),
                name="canonical_campaign_unique_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignRule(models.Model):
    """Puts the sender campaigns it matches into one canonical campaign; lowest priority first."""

    class Field(models.TextChoices):
        NAME = "name", "Campaign name"
        UTM_CAMPAIGN = "utm_campaign", "utm_campaign"
        URL = "url", "Link URL"

    class Match(models.TextChoices):
        EXACT = "exact", "is exactly"
        IEXACT = "iexact", "is, ignoring case"
        PREFIX = "prefix", "starts with (ignoring case)"
        REGEX = "regex", "matches the regular expression"

    canonical = models.ForeignKey(CanonicalCampaign, on_delete=models.CASCADE, related_name="rules")
    field = models.CharField(max_length=20, choices=Field.choices)
    match = models.CharField(max_length=10, choices=Match.choices)
    pattern = models.CharField(max_length=500)
    priority = models.PositiveIntegerField(default=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["priority", "id"]  # a handful of rows, always read in the order they apply
        constraints = [
            models.UniqueConstraint(
                fields=["field", "match", "pattern"], name="campaign_rule_unique_condition"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.get_match_display()} {self.pattern!r}"


class Campaign(models.Model):
    """A sender's campaign (Heyoo, Woodpecker, Opptima) or a Dub link's utm_campaign."""

    sender = models.CharField(max_length=20, choices=sender_choices)
    external_id = models.CharField(max_length=200)
    name = models.CharField(max_length=300, blank=True)
    destination_url = models.TextField(blank=True)
    status = models.CharField(max_length=50, blank=True)
    utm_source = models.CharField(max_length=255, blank=True)
    utm_medium = models.CharField(max_length=255, blank=True)
    utm_campaign = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # Set when the campaign is first stored and whenever the rules change (analytics.campaigns).
    canonical = models.ForeignKey(
        CanonicalCampaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
    )
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "external_id"], name="campaign_unique_per_sender"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id

    def save(self, *args: object, **kwargs: object) -> None:
        # Every campaign belongs to a canonical campaign. Intake places its campaigns in bulk
        # (campaigns.assign_new); this covers one saved through the ORM (a test, the shell).
        if self.canonical_id is None:
            from analytics import campaigns  # it imports this module

            with transaction.atomic():
                self.canonical = campaigns.canonical_for(self)
                super().save(*args, **kwargs)
            return
        super().save(*args, **kwargs)


class Link(models.Model):
    """A Dub short link; Dub clicks without a utm_campaign are grouped by it."""

    sender = models.CharField(max_length=20, choices=sender_choices)
    external_id = models.CharField(max_length=200)
    short_link = models.TextField(blank=True)
    destination_url = models.TextField(blank=True)
    domain = models.CharField(max_length=255, blank=True)
    key = models.CharField(max_length=255, blank=True)
    utm_source = models.CharField(max_length=255, blank=True)
    utm_medium = models.CharField(max_length=255, blank=True)
    utm_campaign = models.CharField(max_length=255, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "external_id"], name="link_unique_per_sender"
            ),
        ]

    def __str__(self) -> str:
        return self.short_link or self.external_id


class Contact(models.Model):
    """A person: the recipient who clicked (Woodpecker, Opptima) or the sharer (Heyoo)."""

    sender = models.CharField(max_length=20, choices=sender_choices)
    email = models.CharField(max_length=320)
    external_id = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=300, blank=True)
    company = models.CharField(max_length=300, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender", "email"], name="contact_unique_per_sender"),
        ]

    def __str__(self) -> str:
        return self.email


class Click(models.Model):
    """One click, normalized the same way whatever the sender. Written only by analytics.intake."""

    sender = models.CharField(max_length=20, choices=sender_choices)
    # The sender's click id, or a hash of the fields that identify the click when it has none.
    click_key = models.CharField(max_length=64)
    external_id = models.CharField(max_length=100, blank=True)
    # The foreign keys below are Django's, not PostgreSQL's (db_constraint=False): PostgreSQL
    # checks a constraint per click at commit, locking the row it points to, which was the
    # worker's whole commit (0.5 s per 20,000 clicks, BENCHMARKS.md). Intake writes only ids it
    # has just read or upserted, and every delete goes through the ORM, which applies PROTECT,
    # SET_NULL and CASCADE itself.
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, db_constraint=False)
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False
    )
    occurred_at = models.DateTimeField()
    occurred_at_raw = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    # No index of their own on campaign, link, recipient and sharer: click_campaign_time and
    # click_recipient_time lead with theirs, and link and sharer are indexed only where set.
    # Every index costs each click's insert and its bytes (BENCHMARKS.md).
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
        db_constraint=False,
    )
    link = models.ForeignKey(
        Link, null=True, blank=True, on_delete=models.PROTECT, db_index=False, db_constraint=False
    )
    url = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    continent = models.CharField(max_length=2, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    device = models.CharField(max_length=10, choices=Device.choices, blank=True)
    browser = models.CharField(max_length=50, blank=True)
    os = models.CharField(max_length=50, blank=True)
    referer = models.CharField(max_length=255, blank=True)
    referer_url = models.TextField(blank=True)
    is_qr = models.BooleanField(default=False)
    is_bot = models.BooleanField(default=False)
    # Why is_bot is set (analytics.bots); '' for a person.
    bot_reason = models.CharField(
        max_length=24, choices=BotReason.choices, blank=True, db_default=BotReason.HUMAN
    )
    is_unique = models.BooleanField(default=False)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # Salted hash naming the visitor (e-mail, else IP + user agent); never the raw values.
    visitor = models.CharField(max_length=32, blank=True)
    recipient = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clicks_received",
        db_index=False,
        db_constraint=False,
    )
    sharer = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="clicks_shared",
        db_index=False,
        db_constraint=False,
    )
    utm_source = models.CharField(max_length=255, blank=True)
    utm_medium = models.CharField(max_length=255, blank=True)
    utm_campaign = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            # Redeliveries and concurrent copies of one click insert nothing (ON CONFLICT).
            models.UniqueConstraint(fields=["sender", "click_key"], name="click_dedupe_per_sender"),
            models.CheckConstraint(
                condition=models.Q(is_bot=False, bot_reason="")
                | (models.Q(is_bot=True) & ~models.Q(bot_reason="")),
                name="click_bot_flag_has_reason",
            ),
        ]
        permissions = [("view_dashboard", "Can view dashboards, export reports and use the API")]
        indexes = [
            # Time ranges: the raw edges of dashboard queries, exports and the API. The id
            # breaks ties, so exports and the API's (time, id) cursor read in index order
            # instead of sorting.
            models.Index(fields=["occurred_at", "id"], name="click_time_range"),
            # Campaign pages and the campaign filter: one campaign's clicks over time.
            models.Index(fields=["campaign", "occurred_at"], name="click_campaign_time"),
            # Scanner bursts (analytics.bots): one e-mail recipient's clicks around a time.
            models.Index(
                fields=["recipient", "occurred_at"],
                condition=models.Q(recipient__isnull=False),
                name="click_recipient_time",
            ),
            # A link's clicks (the link filter, deleting a link): most clicks have no link.
            models.Index(
                fields=["link"], condition=models.Q(link__isnull=False), name="click_link"
            ),
            # A contact's shares (deleting a contact): only Heyoo's shared posts name a sharer.
            models.Index(
                fields=["sharer"], condition=models.Q(sharer__isnull=False), name="click_sharer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_sender_display()} click {self.external_id or self.click_key[:12]}"


class FirstClick(models.Model):
    """The first click of a visitor in a scope (a campaign, else a link or URL).

    A click is unique exactly when its insert creates this row, so uniqueness is decided once,
    at intake, by a unique constraint rather than a racy prior read; counts then add up.
    """

    scope = models.CharField(max_length=64)
    visitor = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "visitor"], name="first_click_per_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.visitor} in {self.scope}"


class Rollup(models.Model):
    """Clicks, unique clicks and QR scans of one UTC period for one combination of values.

    Each row belongs to a dimension set (``dims``: one bit per dimension, see
    ``rollups.dims_key``): the set's columns hold values, the others stay empty (NULL campaign,
    ''), so one table serves every set and filters read the same columns as on ``Click``.
    Kept by ``analytics.rollups`` only; ``analytics.stats`` reads them where they cover a query
    and clicks elsewhere.
    """

    class Grain(models.IntegerChoices):
        QUARTER = 1, "15 minutes"  # every zone's offset is a multiple of 15 minutes
        DAY = 2, "Day (UTC)"
        MONTH = 3, "Month (UTC)"

    dims = models.PositiveSmallIntegerField()
    grain = models.PositiveSmallIntegerField(choices=Grain.choices)
    period = models.DateTimeField()
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    country = models.CharField(max_length=2, blank=True)
    device = models.CharField(max_length=10, choices=Device.choices, blank=True)
    sender = models.CharField(max_length=20, choices=sender_choices, blank=True)
    browser = models.CharField(max_length=50, blank=True)
    os = models.CharField(max_length=50, blank=True)
    referer = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    bot_reason = models.CharField(
        max_length=24, choices=BotReason.choices, blank=True, db_default=BotReason.HUMAN
    )
    is_bot = models.BooleanField()
    clicks = models.IntegerField()
    uniques = models.IntegerField()
    qr = models.IntegerField()

    class Meta:
        constraints = [
            # One row per cell, upserted by the rollup worker; with values before the period it
            # also serves filtered reads (one campaign's or country's days).
            models.UniqueConstraint(
                fields=[
                    "dims",
                    "grain",
                    "campaign",
                    "country",
                    "device",
                    "sender",
                    "browser",
                    "os",
                    "referer",
                    "city",
                    "bot_reason",
                    "is_bot",
                    "period",
                ],
                nulls_distinct=False,
                name="rollup_one_row_per_cell",
            ),
        ]
        indexes = [
            # Unfiltered breakdowns and series: every value of a set within a period range.
            models.Index(fields=["dims", "grain", "period"], name="rollup_set_period"),
        ]

    def __str__(self) -> str:
        from analytics.rollups import dims_names  # rollups imports this module

        label = "|".join(dims_names(self.dims)) or "total"
        return f"{label} {self.get_grain_display()} {self.period:%Y-%m-%d %H:%M}"


class PendingRollup(models.Model):
    """A stored click not yet added to the rollups; the stats count these from the click itself.

    Intake adds one in the transaction that stores the click, and the rollup worker deletes it
    in the transaction that adds the click to the rollups, so a click is counted exactly once.
    """

    # No PostgreSQL constraint, as on Click's own keys: the click is inserted by the same statement.
    click = models.OneToOneField(
        Click, primary_key=True, on_delete=models.CASCADE, db_constraint=False
    )
    # The rollup worker leaves a click pending for BOT_LATE_EVIDENCE_SECONDS after this, so
    # the second click of a scanner burst can still reclassify it (analytics.bot_rows).
    queued_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"click {self.click_id} awaiting rollup"


class RollupVersion(models.Model):
    """One row naming the current state of every count of a closed UTC day.

    Its token changes, in the transaction that makes the change, whenever such a count can
    change: the rollup worker adding a click of a closed day, a rebuild, a sender campaign moved
    to another canonical campaign (a trigger on the campaign table). Answers kept for closed
    days (analytics.closed_counts) name the token they were read at and are used only while it
    stands.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.UUIDField(db_default=RandomUUID())
    changed_at = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="rollup_version_one_row")
        ]

    def __str__(self) -> str:
        return f"rollup version {self.token} of {self.changed_at:%Y-%m-%d %H:%M:%S}"


# Saved views, shared links, reports and alerts are defined in their own modules; importing them
# here is how Django finds them.
from analytics.report_models import (  # noqa: E402
    AlertIncident,
    AlertRule,
    ReportDelivery,
    ReportSchedule,
)
from analytics.sharing_models import SavedView, SharedLink  # noqa: E402

__all__ = [
    "AlertIncident",
    "AlertRule",
    "ReportDelivery",
    "ReportSchedule",
    "SavedView",
    "SharedLink",
]
