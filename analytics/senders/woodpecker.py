"""Woodpecker: a JSON array of events; ``link_clicked`` items are clicks, the rest are ignored.

The location is the prospect's (free-text country, city, state), not the click's. Woodpecker
gives no click id, so a click is identified by account, prospect, campaign step, link and time.
"""

from zoneinfo import ZoneInfo

from analytics.senders import normalize as n
from analytics.senders.base import CampaignData, ClickData, ContactData, Event, PayloadError
from analytics.senders.fields import (
    derived_key,
    load_json,
    obj,
    optional_timestamp,
    required_text,
    text,
    timestamp,
)
from analytics.senders.spec import SenderSpec, UrlTokenOnly

CLICK_EVENT = "link_clicked"
_SHAPE_ERROR = "The body must be a JSON array of Woodpecker events."


def parse(body: bytes, zone: ZoneInfo) -> list[Event]:
    payload = load_json(body)
    # Documented as an array; a lone event object is accepted as an array of one.
    items = [payload] if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise PayloadError(_SHAPE_ERROR)
    return [_event(item, f"[{index}]", zone) for index, item in enumerate(items)]


def _event(item: object, path: str, zone: ZoneInfo) -> Event:
    if not isinstance(item, dict):
        raise PayloadError(f"{path} must be an object with a method, got something else.")
    method = required_text(item, "method", path)
    if method != CLICK_EVENT:
        return Event(event_type=method)

    prospect = obj(item, "prospect", path)
    prospect_path = f"{path}.prospect"
    occurred_at, raw_time = timestamp(item, "timestamp", path, zone)
    email = text(prospect, "email").lower()[:320]
    prospect_id = text(prospect, "id", 200)
    if not (email or prospect_id):
        raise PayloadError(f"{prospect_path} must have an id or an email.")
    campaign_id = text(prospect, "campaign_id", 200)
    campaign = (
        CampaignData(external_id=campaign_id, name=text(prospect, "campaign_name", 300))
        if campaign_id
        else None
    )
    url = text(item, "click_url")
    name = " ".join(filter(None, (text(prospect, "first_name"), text(prospect, "last_name"))))

    return Event(
        event_type=method,
        click=ClickData(
            click_key=derived_key(
                "woodpecker",
                text(item, "firm_id"),
                prospect_id or email,
                campaign_id,
                text(item, "step"),
                text(item, "email_no"),
                url,
                raw_time,
            ),
            occurred_at=occurred_at,
            occurred_at_raw=raw_time,
            url=url,
            **n.location(
                text(prospect, "country"), text(prospect, "state"), text(prospect, "city")
            ),
            campaign=campaign,
            # When the last e-mail went out: a click seconds later is a mail scanner's.
            sent_at=optional_timestamp(prospect, "last_contacted", prospect_path, zone),
            recipient=ContactData(
                email=email,
                external_id=prospect_id,
                name=name[:300],
                company=text(prospect, "company", 300),
            )
            if email
            else None,
            **n.utm({}, url),
        ),
        campaign=campaign,
    )


SPEC = SenderSpec(
    key="woodpecker",
    label="Woodpecker",
    parse=parse,
    # Documented as an array; a lone event object is accepted as an array of one.
    shape=(list, dict),
    shape_error=_SHAPE_ERROR,
    auth=UrlTokenOnly(),
)
