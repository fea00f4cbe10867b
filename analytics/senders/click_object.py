"""The click object Dub and Heyoo share: id, timestamp, url, geo, device, referer, qr, ip, ua."""

from zoneinfo import ZoneInfo

from analytics.senders import normalize as n
from analytics.senders.base import ClickData
from analytics.senders.fields import click_key, coordinate, flag, required_text, text, timestamp


def parse_click_object(
    click: dict, path: str, zone: ZoneInfo, *, utm_from: dict, **related: object
) -> ClickData:
    """A ClickData from ``click`` (at ``path``); ``related`` adds campaign, link or sharer.

    UTM parameters come from ``utm_from`` (the link's or campaign's fields), else from the URL.
    """
    click_id = required_text(click, "id", path)
    occurred_at, raw_time = timestamp(click, "timestamp", path, zone)
    url = text(click, "url")
    user_agent = text(click, "ua")
    # Only the sender's own verdict; clicktrack's rules judge the rest (analytics.bots).
    bot = isinstance(click.get("bot"), bool) and flag(click, "bot")
    referer_url = text(click, "refererUrl")
    return ClickData(
        click_key=click_key(click_id),
        external_id=click_id[:100],
        occurred_at=occurred_at,
        occurred_at_raw=raw_time,
        url=url,
        **n.location(
            text(click, "country"),
            text(click, "region"),
            text(click, "city"),
            text(click, "continent"),
        ),
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
        **n.utm(utm_from, url),
        **related,
    )
