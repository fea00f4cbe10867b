"""Heyoo: ``campaign.clicked`` is a click; campaign events update the campaign; the rest is ignored.

https://docs.heyoo.ai — envelope ``{id, event, timestamp, data}``; a click carries ``data.click``,
``data.campaign`` and ``data.sharer`` (the employee whose shared post was clicked).
"""

from zoneinfo import ZoneInfo

from analytics.senders.base import CampaignData, ContactData, Event, PayloadError
from analytics.senders.click_object import parse_click_object
from analytics.senders.fields import (
    load_json,
    obj,
    optional_obj,
    required_text,
    scalar,
    text,
)
from analytics.senders.spec import HmacSignature, SenderSpec

CLICK_EVENT = "campaign.clicked"
_SHAPE_ERROR = "The body must be a JSON object with id, event, timestamp and data."
# Campaign fields worth keeping; counters such as clicks and consumedBudget change on every event.
_CAMPAIGN_DETAILS = (
    "objective",
    "description",
    "domain",
    "startDate",
    "endDate",
    "rewardType",
    "workspaceSlug",
    "contentPillarName",
    "createdAt",
)


def parse(body: bytes, zone: ZoneInfo) -> list[Event]:
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise PayloadError(_SHAPE_ERROR)
    event = required_text(payload, "event", "")
    data = optional_obj(payload, "data")
    if event != CLICK_EVENT:
        # campaign.created / launched / shared carry the campaign, as data.campaign or as data.
        source = optional_obj(data, "campaign") or (data if "name" in data else {})
        campaign = _campaign(source, "data.campaign") if text(source, "id") else None
        return [Event(event_type=event, campaign=campaign)]

    data = obj(payload, "data", "")
    click = obj(data, "click", "data")
    campaign = _campaign(obj(data, "campaign", "data"), "data.campaign")
    sharer = optional_obj(data, "sharer")
    sharer_email = text(sharer, "email").lower()[:320]
    sharer_data = (
        ContactData(
            email=sharer_email, external_id=text(sharer, "id", 200), name=text(sharer, "name", 300)
        )
        if sharer_email
        else None
    )
    return [
        Event(
            event_type=event,
            click=parse_click_object(
                click,
                "data.click",
                zone,
                utm_from=vars(campaign),
                campaign=campaign,
                sharer=sharer_data,
            ),
            campaign=campaign,
        )
    ]


def _campaign(campaign: dict, path: str) -> CampaignData:
    return CampaignData(
        external_id=required_text(campaign, "id", path)[:200],
        name=text(campaign, "name", 300),
        destination_url=text(campaign, "destinationUrl"),
        status=text(campaign, "status", 50),
        utm_source=text(campaign, "utm_source", 255),
        utm_medium=text(campaign, "utm_medium", 255),
        utm_campaign=text(campaign, "utm_campaign", 255),
        details={key: scalar(campaign[key]) for key in _CAMPAIGN_DETAILS if key in campaign},
    )


SPEC = SenderSpec(
    key="heyoo",
    label="Heyoo",
    parse=parse,
    shape=(dict,),
    shape_error=_SHAPE_ERROR,
    # Dub's scheme; the header's name is a setting in case Heyoo's documentation changes it.
    auth=HmacSignature("Heyoo-Signature", header_setting="HEYOO_SIGNATURE_HEADER"),
    demo_secret_prefix="whsec_",
)
