"""Saved views and the read-only links that share them (imported by analytics.models).

A saved view is a dashboard query string (filters, range, time zone, bots rule) with a name. A
shared link opens a read-only dashboard to anyone holding its URL, limited to one saved view's
filters when it names one; the period is the visitor's to change, the filters are not.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

if TYPE_CHECKING:
    from analytics.filters import ClickFilter


def site_url(path: str) -> str:
    """The absolute address of a path, for what leaves the site: e-mails, shared links."""
    return f"{settings.SITE_URL}{path}"


def _token() -> str:
    from analytics.models import generate_token  # models imports this module

    return generate_token()


class SavedViewQuerySet(models.QuerySet):
    def visible_to(self, user: settings.AUTH_USER_MODEL) -> "SavedViewQuerySet":
        """The user's own views and the team's."""
        return self.filter(
            models.Q(owner=user) | models.Q(visibility=SavedView.Visibility.TEAM)
        ).select_related("owner")


class SavedView(models.Model):
    """A named dashboard: the query string of its filters, range, time zone and bots rule."""

    class Visibility(models.TextChoices):
        PERSONAL = "personal", "Only me"
        TEAM = "team", "Everyone on the team"

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PERSONAL
    )
    # ClickFilter.querystring(): canonical, so two saves of one dashboard compare equal.
    query = models.CharField(max_length=4000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "owner", Lower("name"), name="saved_view_name_unique_per_owner"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"{reverse('dashboard')}?{self.query}" if self.query else reverse("dashboard")

    def get_manage_url(self) -> str:
        """Its page: its links, reports and alerts."""
        return reverse("saved-view", args=[self.pk])

    def clean(self) -> None:
        # analytics.filters imports the models: imported when needed.
        from analytics.filters import ClickFilter, FilterError

        try:
            self.query = ClickFilter.from_query(QueryDict(self.query)).querystring()
        except FilterError as exc:
            raise ValidationError({"query": str(exc)}) from None

    def click_filter(self, now: datetime | None = None, **overrides: str) -> "ClickFilter":
        """The view's filter; ``overrides`` replace parameters (a report's period, say)."""
        from analytics.filters import ClickFilter

        params = QueryDict(self.query, mutable=True)
        for key, value in overrides.items():
            params.setlist(key, [value])
        return ClickFilter.from_query(params, now=now)

    def can_edit(self, user: settings.AUTH_USER_MODEL) -> bool:
        return user.pk == self.owner_id or user.is_staff


class SharedLink(models.Model):
    """A read-only dashboard at an unguessable URL: revocable, optionally expiring and
    password-protected, limited to one saved view's filters when it names one."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    token = models.CharField(max_length=100, unique=True, default=_token, editable=False)
    label = models.CharField(
        max_length=100, help_text="Who the link is for, e.g. “ACME monthly review”."
    )
    saved_view = models.ForeignKey(
        SavedView,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="shared_links",
        help_text="Limit the link to this view's filters; empty shares every campaign.",
    )
    password_hash = models.CharField(max_length=200, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_viewed_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("share-dashboard", args=[self.token])

    def state(self, now: datetime | None = None) -> "SharedLink.State":
        if self.revoked_at:
            return self.State.REVOKED
        if self.expires_at and self.expires_at <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.State.ACTIVE

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def set_password(self, raw: str) -> None:
        """'' removes the password."""
        self.password_hash = make_password(raw) if raw else ""

    def check_password(self, raw: str) -> bool:
        return bool(self.password_hash) and check_password(raw, self.password_hash)

    def revoke(self) -> None:
        if not self.revoked_at:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
