"""Opptima: flat JSON; `event: "click"` is a click (emailMarketingClick), other events are ignored.

Timestamps are naive local time ("2020-10-02 15:07:31"), read in the endpoint's time zone.
Opptima gives no click id, so a click is identified by account, campaign, contact, link and time.
"""

from zoneinfo import ZoneInfo

from analytics.senders import normalize as n
from analytics.senders.base import CampaignData, ClickData, ContactData, Event, PayloadError
from analytics.senders.fields import (
    coordinate,
    derived_key,
    load_json,
    required_text,
    text,
    timestamp,
)
from analytics.senders.spec import BearerKey, SenderSpec

CLICK_EVENT = "click"
_SHAPE_ERROR = "The body must be a JSON object with type, event and campid."


def parse(body: bytes, zone: ZoneInfo) -> list[Event]:
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise PayloadError(_SHAPE_ERROR)
    event = required_text(payload, "event", "")
    event_type = _event_type(text(payload, "type"), event)
    if event != CLICK_EVENT:
        return [Event(event_type=event_type)]

    campaign_id = required_text(payload, "campid", "")
    occurred_at, raw_time = timestamp(payload, "timestamp", "", zone)
    email = text(payload, "email").lower()[:320]
    contact_id = text(payload, "contactId", 200)
    campaign = CampaignData(external_id=campaign_id[:200], name=text(payload, "campaignName", 300))
    url = text(payload, "destination")

    return [
        Event(
            event_type=event_type,
            click=ClickData(
                click_key=derived_key(
                    "opptima",
                    text(payload, "relid"),
                    campaign_id,
                    contact_id or email,
                    url,
                    raw_time,
                ),
                occurred_at=occurred_at,
                occurred_at_raw=raw_time,
                url=url,
                **n.location(
                    text(payload, "countryName"),
                    text(payload, "regionName"),
                    text(payload, "cityName"),
                ),
                latitude=coordinate(payload, "latitude", 90),
                longitude=coordinate(payload, "longitude", 180),
                device=n.device(text(payload, "device_type")),
                browser=n.known(text(payload, "browser", 50)),
                campaign=campaign,
                recipient=ContactData(email=email, external_id=contact_id) if email else None,
                **n.utm({}, url),
            ),
            campaign=campaign,
        )
    ]


def _event_type(kind: str, event: str) -> str:
    # Opptima names its webhooks after group and event: emailMarketingClick, emailMarketingOpen…
    group = "emailMarketing" if kind in ("", "Email marketing") else kind
    return f"{group}{event[:1].upper()}{event[1:]}"[:100]


SPEC = SenderSpec(
    key="opptima",
    label="Opptima",
    parse=parse,
    shape=(dict,),
    shape_error=_SHAPE_ERROR,
    auth=BearerKey(),
    # Opptima sends naive local timestamps; its documentation and customers are in Colombia.
    default_time_zone="America/Bogota",
    demo_secret_prefix="opp_live_",
)
