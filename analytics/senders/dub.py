"""Dub: ``link.clicked`` is a click; every other event (lead.created, sale.created…) is ignored.

https://dub.co/docs/concepts/webhooks/event-types — envelope ``{id, event, createdAt, data}``,
``data.click`` and ``data.link``. Dub has no campaign object: the utm_campaign stands in, the
link's own, else the clicked URL's, else the link destination's. Dub's "Send test event" click is
marked as a test (``_is_test_click``): stored as a delivery, never counted.
"""

from zoneinfo import ZoneInfo

from analytics.senders import normalize as n
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

# Dub's "Send test event" button posts its sample link.clicked as it is (dubinc/dub,
# apps/web/lib/webhook/sample-events/link-clicked.json, sent by send-test.ts): always this click
# id, on Dub's own link dub.sh/track-test. A new user's first delivery is that sample, and
# counting it would put a San Jose click from 2025 in their reports.
_TEST_CLICK_ID = "yNrYm0F6r1KMnq6N"
_TEST_LINK = ("dub.sh", "track-test")  # (domain, key)


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
    # A link built without Dub's UTM fields may still carry them in its URL, which Dub copies
    # into the clicked URL: per parameter, the link's field wins, then the clicked URL, then the
    # link's destination.
    utm = n.utm(
        vars(link_data) if link_data else {},
        text(click, "url"),
        link_data.destination_url if link_data else "",
    )
    campaign = None
    if utm["utm_campaign"]:
        campaign = CampaignData(
            external_id=utm["utm_campaign"][:200],
            name=utm["utm_campaign"],
            utm_source=utm["utm_source"],
            utm_medium=utm["utm_medium"],
            utm_campaign=utm["utm_campaign"],
        )
    return [
        Event(
            event_type=event,
            click=parse_click_object(
                click, "data.click", zone, utm_from=utm, campaign=campaign, link=link_data
            ),
            campaign=campaign,
            test=_is_test_click(click, link),
        )
    ]


def _is_test_click(click: dict, link: dict) -> bool:
    """Whether this is the sample click Dub's "Send test event" sends (see _TEST_CLICK_ID).

    Either sign suffices: the click id, or the link, should Dub vary the id of its sample.
    """
    if text(click, "id") == _TEST_CLICK_ID:
        return True
    return (text(link, "domain").lower(), text(link, "key")) == _TEST_LINK


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
    # Dub drops bots by user agent before sending, but keeps app deep links (okhttp, …).
    filters_bots_itself=True,
)
