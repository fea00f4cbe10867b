"""Sender parsers: request bytes in, plain data out. No database, no request.

Each sender module exposes ``parse(body: bytes, zone: ZoneInfo) -> list[Event]`` and raises
``PayloadError`` with a message naming the offending field when the body does not fit the
sender's documented shape. Fields that identify a click (its id, its time) are strict; descriptive
fields (city, browser, coordinates…) are tolerant: a wrong type or an impossible value becomes
"unknown" rather than costing the marketer the click.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from analytics.models import Sender


class PayloadError(ValueError):
    """The body is not JSON or does not fit the sender's shape; the message says where."""


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


Parser = Callable[[bytes, ZoneInfo], list[Event]]


def parser_for(sender: str) -> Parser:
    from analytics.senders import dub, heyoo, opptima, woodpecker

    parsers: dict[str, Parser] = {
        Sender.DUB: dub.parse,
        Sender.HEYOO: heyoo.parse,
        Sender.WOODPECKER: woodpecker.parse,
        Sender.OPPTIMA: opptima.parse,
    }
    return parsers[sender]


# The top-level shape each sender's body has, checked before a delivery is accepted; the rest of
# the shape is the parser's, in the processing worker.
_SHAPES: dict[str, tuple[tuple[type, ...], str]] = {
    Sender.DUB: ((dict,), "The body must be a JSON object with id, event and data."),
    Sender.HEYOO: ((dict,), "The body must be a JSON object with id, event, timestamp and data."),
    Sender.WOODPECKER: ((list, dict), "The body must be a JSON array of Woodpecker events."),
    Sender.OPPTIMA: ((dict,), "The body must be a JSON object with type, event and campid."),
}


def check_shape(sender: str, body: bytes) -> None:
    """Raise ``PayloadError`` unless the body is JSON of the sender's top-level shape."""
    from analytics.senders.fields import load_json

    kinds, message = _SHAPES[sender]
    if not isinstance(load_json(body), kinds):
        raise PayloadError(message)
