"""Dub: ``link.clicked`` is a click; every other event (lead.created, sale.created…) is ignored.

https://dub.co/docs/concepts/webhooks/event-types — envelope ``{id, event, createdAt, data}``,
``data.click`` and ``data.link``. Dub has no campaign object: the link's utm_campaign stands in.
"""

from zoneinfo import ZoneInfo

from analytics.senders import CampaignData, ClickData, Event, LinkData, PayloadError
from analytics.senders import normalize as n
from analytics.senders.fields import (
    click_key,
    coordinate,
    flag,
    load_json,
    obj,
    optional_obj,
    required_text,
    text,
    timestamp,
)

CLICK_EVENT = "link.clicked"


def parse(body: bytes, zone: ZoneInfo) -> list[Event]:
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise PayloadError("The body must be a JSON object with id, event and data.")
    event = required_text(payload, "event", "")
    if event != CLICK_EVENT:
        return [Event(event_type=event)]

    data = obj(payload, "data", "")
    click = obj(data, "click", "data")
    link = optional_obj(data, "link")
    click_id = required_text(click, "id", "data.click")
    occurred_at, raw_time = timestamp(click, "timestamp", "data.click", zone)

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
    url = text(click, "url")
    user_agent = text(click, "ua")
    # Dub's own verdict wins; without one, judge by the user agent.
    bot = flag(click, "bot") if isinstance(click.get("bot"), bool) else None
    if bot is None:
        bot = bool(user_agent) and n.is_bot_user_agent(user_agent)
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
                is_bot=bot,
                ip=n.ip_address(text(click, "ip")),
                user_agent=user_agent,
                campaign=campaign,
                link=link_data,
                **n.utm(vars(link_data) if link_data else {}, url),
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
