"""What every sender parser returns: plain data, no database, no request.

Also ``Device``, the one vocabulary every parser maps its device names to; the models read it
from here so that this package never imports them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import models


class PayloadError(ValueError):
    """The body is not JSON or does not fit the sender's shape; the message says where."""


class Device(models.TextChoices):
    UNKNOWN = "", "Unknown"
    DESKTOP = "desktop", "Desktop"
    MOBILE = "mobile", "Mobile"
    TABLET = "tablet", "Tablet"
    OTHER = "other", "Other"


@dataclass(frozen=True)
class CampaignData:
    external_id: str
    name: str = ""
    destination_url: str = ""
    status: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LinkData:
    external_id: str
    short_link: str = ""
    destination_url: str = ""
    domain: str = ""
    key: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""


@dataclass(frozen=True)
class ContactData:
    email: str
    external_id: str = ""
    name: str = ""
    company: str = ""


@dataclass(frozen=True)
class ClickData:
    click_key: str
    occurred_at: datetime
    occurred_at_raw: str
    external_id: str = ""
    url: str = ""
    country: str = ""
    region: str = ""
    city: str = ""
    continent: str = ""
    latitude: float | None = None
    longitude: float | None = None
    device: str = ""
    browser: str = ""
    os: str = ""
    referer: str = ""
    referer_url: str = ""
    is_qr: bool = False
    is_bot: bool = False
    ip: str | None = None
    user_agent: str = ""
    # When the sender sent the e-mail this click came from, where it says (analytics.bots).
    sent_at: datetime | None = None
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    campaign: CampaignData | None = None
    link: LinkData | None = None
    recipient: ContactData | None = None
    sharer: ContactData | None = None


@dataclass(frozen=True)
class Event:
    """One event of a delivery (Woodpecker sends several): a click, or something to ignore."""

    event_type: str
    click: ClickData | None = None
    # Campaign details carried by non-click events too (Heyoo campaign.created, …).
    campaign: CampaignData | None = None
    # A sender's test delivery, e.g. Dub's Send test event: stored, never counted. Processing
    # keeps its delivery (status "test") and writes none of its rows: no click, link or campaign.
    test: bool = False


Parser = Callable[[bytes, ZoneInfo], list[Event]]
