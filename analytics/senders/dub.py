"""Dub: ``link.clicked`` is a click; every other event (lead.created, sale.created…) is ignored.

https://dub.co/docs/concepts/webhooks/event-types — envelope ``{id, event, createdAt, data}``,
``data.click`` and ``data.link``. Dub has no campaign object: the link's utm_campaign stands in.
"""

from zoneinfo import ZoneInfo

from analytics.senders.base import CampaignData, Event, LinkData, PayloadError
from analytics.senders.click_object import parse_click_object
from analytics.senders.fields import (
    load_json,
    obj,
    optional_obj,
    required_text,
    text,
)
from analytics.senders.spec import HmacSignature, SenderSpec

CLICK_EVENT = "link.clicked"
_SHAPE_ERROR = "The body must be a JSON object with id, event and data."


def parse(body: bytes, zone: ZoneInfo) -> list[Event]:
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise PayloadError(_SHAPE_ERROR)
    event = required_text(payload, "event", "")
    if event != CLICK_EVENT:
        return [Event(event_type=event)]

    data = obj(payload, "data", "")
    click = obj(data, "click", "data")
    link = optional_obj(data, "link")
    link_data = _link(link) if text(link, "id") else None
    campaign = None
    if link_data and link_data.utm_campaign:
        campaign = CampaignData(
            external_id=link_data.utm_campaign[:200],
            name=link_data.utm_campaign,
            utm_source=link_data.utm_source,
            utm_medium=link_data.utm_medium,
            utm_campaign=link_data.utm_campaign,
        )
    return [
        Event(
            event_type=event,
            click=parse_click_object(
                click,
                "data.click",
                zone,
                utm_from=vars(link_data) if link_data else {},
                campaign=campaign,
                link=link_data,
            ),
            campaign=campaign,
        )
    ]


def _link(link: dict) -> LinkData:
    return LinkData(
        external_id=text(link, "id", 200),
        short_link=text(link, "shortLink"),
        destination_url=text(link, "url"),
        domain=text(link, "domain", 255),
        key=text(link, "key", 255),
        utm_source=text(link, "utm_source", 255),
        utm_medium=text(link, "utm_medium", 255),
        utm_campaign=text(link, "utm_campaign", 255),
    )


SPEC = SenderSpec(
    key="dub",
    label="Dub",
    parse=parse,
    shape=(dict,),
    shape_error=_SHAPE_ERROR,
    auth=HmacSignature("Dub-Signature"),
    demo_secret_prefix="whsec_",
)
