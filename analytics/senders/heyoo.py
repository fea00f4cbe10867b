"""Heyoo: ``campaign.clicked`` is a click; campaign events update the campaign; the rest is ignored.

https://docs.heyoo.ai — envelope ``{id, event, timestamp, data}``; a click carries ``data.click``,
``data.campaign`` and ``data.sharer`` (the employee whose shared post was clicked).
"""

from zoneinfo import ZoneInfo

from analytics.senders import CampaignData, ClickData, ContactData, Event, PayloadError
from analytics.senders import normalize as n
from analytics.senders.fields import (
    click_key,
    coordinate,
    flag,
    load_json,
    obj,
    optional_obj,
    required_text,
    scalar,
    text,
    timestamp,
)

CLICK_EVENT = "campaign.clicked"
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
        raise PayloadError("The body must be a JSON object with id, event, timestamp and data.")
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
    click_id = required_text(click, "id", "data.click")
    occurred_at, raw_time = timestamp(click, "timestamp", "data.click", zone)
    sharer = optional_obj(data, "sharer")
    sharer_email = text(sharer, "email").lower()[:320]
    url = text(click, "url")
    user_agent = text(click, "ua")
    country = n.country_code(text(click, "country"))
    referer_url = text(click, "refererUrl")

    return [
        Event(
            event_type=event,
            click=ClickData(
                click_key=click_key(click_id),
                external_id=click_id[:100],
                occurred_at=occurred_at,
                occurred_at_raw=raw_time,
                url=url,
                country=country,
                region=text(click, "region", 100),
                city=text(click, "city", 100),
                continent=n.continent_code(text(click, "continent"), country),
                latitude=coordinate(click, "latitude", 90),
                longitude=coordinate(click, "longitude", 180),
                device=n.device(text(click, "device")),
                browser=n.known(text(click, "browser", 50)),
                os=n.known(text(click, "os", 50)),
                referer=n.referer_host(text(click, "referer"), referer_url),
                referer_url=n.referer_full_url(referer_url),
                is_qr=flag(click, "qr"),
                is_bot=bool(user_agent) and n.is_bot_user_agent(user_agent),
                ip=n.ip_address(text(click, "ip")),
                user_agent=user_agent,
                campaign=campaign,
                sharer=ContactData(
                    email=sharer_email,
                    external_id=text(sharer, "id", 200),
                    name=text(sharer, "name", 300),
                )
                if sharer_email
                else None,
                **n.utm(vars(campaign), url),
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
