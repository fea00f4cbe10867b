"""Which clicks are machines': the rules, each giving a reason (``BotReason``), never a drop.

A flagged click is stored like any other, with ``is_bot`` and its ``bot_reason``; dashboards
leave bots out by default and show them split by reason. Rules, first match wins:

- ``sender_flag``: the sender says so (Heyoo's ``bot``).
- ``user_agent``: a crawler's user agent, by CrawlerDetect's maintained patterns.
- ``scanner_referer``: the referer is a mail-security link rewriter (Safe Links, Proofpoint…).
- ``datacenter_ip``: the IP is a datacenter's, hosting provider's or VPN's
  (``BOT_DATACENTER_IP_FILES``, X4BNet's list by default).
- ``too_fast_after_send``: the click came within ``BOT_SECONDS_AFTER_SEND`` of the e-mail's
  sending, where the sender tells it (Woodpecker's ``last_contacted``).
- ``scanner_burst``: one e-mail recipient clicked ``BOT_BURST_LINKS`` different links within
  ``BOT_BURST_SECONDS``: a scanner following every link (``bursts``, decided over a batch and
  the recipient's stored clicks, so the second click of a burst reclassifies the first).

Senders that filter bots themselves (Dub: its own user-agent list, keeping app deep links such
as okhttp, which Dub counts) keep their verdict, so the counts agree with their dashboards.
"""

import bisect
import gzip
import ipaddress
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import NamedTuple

from crawlerdetect import CrawlerDetect
from django.conf import settings

from analytics.bot_reasons import BotReason
from analytics.senders.base import ClickData
from analytics.senders.spec import SenderSpec

# Hosts that mail-security gateways fetch links through, or pass as the referer when their
# sandbox follows a link: Microsoft Defender Safe Links, Proofpoint URL Defense, Mimecast,
# Barracuda, Cisco Secure Email, Symantec/Broadcom Click-time, Trend Micro, Sophos.
SCANNER_REFERERS = (
    "safelinks.protection.outlook.com",
    "urldefense.proofpoint.com",
    "urldefense.com",
    "mimecast.com",
    "linkprotect.cudasvc.com",
    "secure-web.cisco.com",
    "clicktime.symantec.com",
    "tmase.trendmicro.com",
    "protection.sophos.com",
)


def reason(spec: SenderSpec, click: ClickData) -> BotReason:
    """The reason from the click alone: every rule but the burst, which needs its neighbours."""
    if click.is_bot:
        return BotReason.SENDER_FLAG
    if spec.filters_bots_itself:
        return BotReason.HUMAN
    if click.user_agent and _crawler_detect().isCrawler(click.user_agent):
        return BotReason.USER_AGENT
    if is_scanner_referer(click.referer):
        return BotReason.SCANNER_REFERER
    if click.ip and is_datacenter_ip(click.ip):
        return BotReason.DATACENTER_IP
    if click.sent_at is not None:
        delay = click.occurred_at - click.sent_at
        if timedelta(0) <= delay <= timedelta(seconds=settings.BOT_SECONDS_AFTER_SEND):
            return BotReason.TOO_FAST_AFTER_SEND
    return BotReason.HUMAN


class Visit(NamedTuple):
    """What the burst rule looks at: whose click, when, on which link."""

    key: object  # the caller's handle for the click (an id, a click key)
    recipient: object
    occurred_at: datetime
    url: str


def bursts(visits: Iterable[Visit]) -> set[object]:
    """Keys of the clicks that belong to a burst: a recipient's clicks on at least
    ``BOT_BURST_LINKS`` different links within ``BOT_BURST_SECONDS`` of each other."""
    window = timedelta(seconds=settings.BOT_BURST_SECONDS)
    by_recipient: dict[object, list[Visit]] = {}
    for visit in visits:
        if visit.recipient is not None:
            by_recipient.setdefault(visit.recipient, []).append(visit)
    found: set[object] = set()
    for own in by_recipient.values():
        if len(own) < 2:
            continue  # most recipients of a batch: one click, no burst
        own.sort(key=lambda visit: visit.occurred_at)
        first = 0
        for last, visit in enumerate(own):
            while visit.occurred_at - own[first].occurred_at > window:
                first += 1
            span = own[first : last + 1]
            if len({v.url for v in span}) >= settings.BOT_BURST_LINKS:
                found.update(v.key for v in span)
    return found


def is_scanner_referer(referer: str) -> bool:
    if not referer or referer == "(direct)":
        return False
    host = referer.lower().removeprefix("www.")
    return any(host == known or host.endswith("." + known) for known in SCANNER_REFERERS)


def is_datacenter_ip(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    starts, ends = _datacenter_networks()[address.version]
    position = bisect.bisect_right(starts, int(address)) - 1
    return position >= 0 and int(address) <= ends[position]


@cache
def _crawler_detect() -> CrawlerDetect:
    return CrawlerDetect()


@cache
def _datacenter_networks() -> dict[int, tuple[list[int], list[int]]]:
    """Per IP version, the listed networks as sorted, merged [start, end] integer ranges."""
    ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for path in settings.BOT_DATACENTER_IP_FILES:
        for line in _lines(path):
            line = line.split("#", 1)[0].strip()
            if line:
                network = ipaddress.ip_network(line, strict=False)
                ranges[network.version].append(
                    (int(network.network_address), int(network.broadcast_address))
                )
    merged: dict[int, tuple[list[int], list[int]]] = {}
    for version, pieces in ranges.items():
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(pieces):
            if ends and start <= ends[-1] + 1:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        merged[version] = (starts, ends)
    return merged


def _lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return list(lines)
