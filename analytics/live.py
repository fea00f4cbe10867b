"""The live view's numbers: clicks in the last 30 minutes, read from the click table.

Thirty minutes are mostly not rolled up yet (rollups count whole quarter hours a little late),
so this reads the clicks themselves, through the (occurred_at, id) index: one query per series.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import Trunc
from django.utils import timezone

from analytics.models import Click, Device
from analytics.senders.normalize import country_name

MINUTES = 30
TOP = 5
LATEST = 20
BOTS = ("exclude", "include")


class LiveError(ValueError):
    """A parameter the live view cannot use; the message says which and why."""


def window(now: datetime) -> tuple[datetime, datetime]:
    """(start, end): the current minute, unfinished, and the 29 whole minutes before it."""
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    return minute - timedelta(minutes=MINUTES - 1), minute + timedelta(minutes=1)


def live(bots: str = "exclude", now: datetime | None = None) -> dict[str, object]:
    if bots not in BOTS:
        raise LiveError(f"bots must be exclude or include, got {bots[:40]!r}.")
    now = now or timezone.now()
    start, end = window(now)
    clicks = Click.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    if bots == "exclude":
        clicks = clicks.filter(is_bot=False)
    minutes = _per_minute(clicks, start)
    return {
        "start": start,
        "end": end,
        "now": now,
        "total": sum(point["clicks"] for point in minutes),
        "minutes": minutes,
        "countries": _countries(clicks),
        "campaigns": _campaigns(clicks),
        "referers": _referers(clicks),
        "latest": _latest(clicks),
    }


def _per_minute(clicks: QuerySet[Click], start: datetime) -> list[dict[str, object]]:
    counts = dict(
        clicks.annotate(minute=Trunc("occurred_at", "minute", tzinfo=UTC))
        .values("minute")
        .annotate(n=Count("id"))
        .values_list("minute", "n")
    )
    starts = [start + timedelta(minutes=i) for i in range(MINUTES)]
    return [{"t": t, "clicks": counts.get(t, 0)} for t in starts]


def _top(clicks: QuerySet[Click], *fields: str) -> list[tuple[object, ...]]:
    """The TOP most clicked values of fields, as (values..., clicks); ties in value order."""
    rows = (
        clicks.values(*fields)
        .annotate(n=Count("id"))
        .order_by("-n", *fields)
        .values_list(*fields, "n")
    )
    return list(rows[:TOP])


def _countries(clicks: QuerySet[Click]) -> list[dict[str, object]]:
    return [
        {"value": code, "label": _country_label(code), "clicks": n}
        for code, n in _top(clicks, "country")
    ]


def _campaigns(clicks: QuerySet[Click]) -> list[dict[str, object]]:
    # Unified campaigns, as everywhere on the dashboard; the canonical name comes in the join.
    return [
        {"value": "" if pk is None else str(pk), "label": _campaign_label(pk, name), "clicks": n}
        for pk, name, n in _top(clicks, "campaign__canonical_id", "campaign__canonical__name")
    ]


def _referers(clicks: QuerySet[Click]) -> list[dict[str, object]]:
    return [
        {"value": referer, "label": _referer_label(referer), "clicks": n}
        for referer, n in _top(clicks, "referer")
    ]


def _latest(clicks: QuerySet[Click]) -> list[dict[str, object]]:
    rows = clicks.order_by("-occurred_at", "-id").values_list(
        "id",
        "occurred_at",
        "country",
        "device",
        "campaign__canonical_id",
        "campaign__canonical__name",
        "referer",
    )[:LATEST]
    return [
        {
            "id": pk,
            "at": at,
            "country": country,
            "country_label": _country_label(country),
            "device": device,
            "device_label": Device(device).label if device else "Unknown",
            "campaign": "" if campaign is None else str(campaign),
            "campaign_label": _campaign_label(campaign, name),
            "referer": referer,
            "referer_label": _referer_label(referer),
        }
        for pk, at, country, device, campaign, name, referer in rows
    ]


def _country_label(code: str) -> str:
    return country_name(code) if code else "Unknown"


def _campaign_label(pk: int | None, name: str | None) -> str:
    if pk is None:
        return "No campaign"
    return name or f"Campaign {pk}"


def _referer_label(referer: str) -> str:
    # As the dashboard's referer panel: empty is a sender that did not say, "(direct)" is none.
    return {"": "Unknown", "(direct)": "Direct"}.get(referer, referer)
