"""Demo webhook bodies: how each sender writes an event, rendered from ``world``'s events.

``world`` decides who clicks, where and when; its generator inherits these builders, so they draw
from the same ``random.Random`` in the same order: a seed still gives the same bytes.
"""

import json
import random
import string
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from clicktrack.demo import data as dd

if TYPE_CHECKING:
    from clicktrack.demo.world import DemoCampaign, DemoEvent, DemoVisitor

WOODPECKER_ZONE = ZoneInfo("Europe/Warsaw")  # Woodpecker is Polish: offsets +0100 and +0200
OPPTIMA_ZONE = ZoneInfo("America/Bogota")


def js_json(payload: object) -> bytes:
    """Dub and Heyoo (Node.js): ``JSON.stringify``, no spaces, non-ASCII characters as is."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def escaped_json(payload: object) -> bytes:
    # Woodpecker: compact with \u escapes, so the demo covers both ways of sending non-ASCII.
    return json.dumps(payload, separators=(",", ":")).encode()


def js_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def woodpecker_time(moment: datetime) -> str:
    return f"{moment.astimezone(WOODPECKER_ZONE):%Y-%m-%dT%H:%M:%S%z}"


def opptima_time(moment: datetime) -> str:
    """Naive local time: Opptima does not say which zone, the endpoint's setting does."""
    return f"{moment.astimezone(OPPTIMA_ZONE):%Y-%m-%d %H:%M:%S}"


class SenderPayloads:
    """The four senders' body builders, a mixin of the generator in ``world``."""

    rng: random.Random
    start: datetime
    now: datetime
    sharers: list[dict]
    sharer_cum: list[float]

    # --- bodies, rendered in arrival order so that the counters senders report only grow -----

    def body(self, event: "DemoEvent") -> bytes:
        """The body of one event as its sender writes it (Woodpecker's clicks: woodpecker_click)."""
        return getattr(self, f"_{event.sender}")(event)

    def _dub(self, event: "DemoEvent") -> bytes:
        rng, link, who = self.rng, event.campaign, event.who
        if event.kind == "link.clicked":
            # An app opening a deep link sends no referer.
            direct = event.qr or who.ua in dd.APP_AGENTS
            referer = ("(direct)",) * 2 if direct else self._referer(2)
            # Dub drops bots before sending (its own user-agent list), so bot is always false.
            event.payload = {
                "id": random_id(rng, 16), "timestamp": js_time(event.at), "url": link.state["url"],
                **self._place(who), "device": who.device, "browser": who.browser, "os": who.os,
                "ua": who.ua, "bot": False, "qr": event.qr, "referer": referer[0],
                "refererUrl": referer[1], "ip": who.ip,
            }  # fmt: skip
            link.state["clicks"] += 1
            data = {"click": event.payload, "link": self._dub_link(link, event.at)}
            link.state["lastClicked"] = js_time(event.at)
        else:  # lead.created: the visitor signed up; Dub repeats the click that brought them
            first, last = rng.choice(dd.FIRST_NAMES), rng.choice(dd.LAST_NAMES)
            customer = f"cus_{random_id(rng, 24)}"
            link.state["leads"] += 1
            email = f"{ascii_name(first)}.{ascii_name(last)}@{rng.choice(dd.MAIL_DOMAINS)}"
            data = {"eventName": "Sign up", "customer": {
                "id": customer, "externalId": f"user_{random_id(rng, 12)}",
                "name": f"{first} {last}", "email": email,
                "avatar": f"https://api.dub.co/og/avatar/{customer}",
                "createdAt": js_time(event.at),
            }, "click": event.source.payload, "link": self._dub_link(link, event.at),
                "metadata": None}  # fmt: skip
        created = min(event.at + timedelta(milliseconds=rng.randint(200, 2500)), self.now)
        return js_json({"id": f"evt_{random_id(rng, 25)}", "event": event.kind,
                        "createdAt": js_time(created), "data": data})  # fmt: skip

    def dub_test_event(self) -> bytes:
        """Dub's "Send test event": its sample click as it is, in an envelope of the moment the
        endpoint was set up (the demo's start)."""
        return js_json({"id": f"evt_{random_id(self.rng, 25)}", "event": "link.clicked",
                        "createdAt": js_time(self.start), "data": dd.DUB_TEST_SAMPLE})  # fmt: skip

    def _dub_link(self, link: "DemoCampaign", at: datetime) -> dict:
        domain, key, _, source, medium, campaign = link.row[:6]
        return {
            **dd.DUB_LINK, **link.state, "domain": domain, "key": key,
            "shortLink": f"https://{domain}/{key}",
            "qrCode": f"https://api.dub.co/qr?url=https://{domain}/{key}?qr=1",
            "utm_source": source or None, "utm_medium": medium or None,
            "utm_campaign": campaign or None, "updatedAt": js_time(at),
        }  # fmt: skip

    def _heyoo(self, event: "DemoEvent") -> bytes:
        rng, campaign, who = self.rng, event.campaign, event.who
        sharer = rng.choices(self.sharers, cum_weights=self.sharer_cum)[0]
        data: dict = {}
        if event.kind == "campaign.clicked":
            # Unfurlers and crawlers fetch the link itself, with no referer.
            direct = event.qr or who.machine
            referer = ("(direct)",) * 2 if direct else self._referer(3)
            campaign.state["clicks"] += 1
            # The documented fields, then the user agent and Heyoo's own bot verdict, which the
            # intake's rules read as they read Dub's (analytics/bots.py).
            data["click"] = {
                "id": f"clk_{random_id(rng, 24)}", "timestamp": js_time(event.at),
                "url": f"https://lumora.io{campaign.row[2]}?ref={sharer['ref']}",
                **self._place(who),
                "device": who.device.lower(), "browser": who.browser, "os": who.os,
                "referer": referer[0], "refererUrl": referer[1], "qr": event.qr, "ip": who.ip,
                "ua": who.ua, "bot": who.flagged,
            }  # fmt: skip
        elif event.kind == "campaign.shared":
            campaign.state["shares"] += 1
        elif event.kind == "post.published":
            activity = f"urn:li:activity:{rng.randint(10**18, 10**19)}"
            data["post"] = {"id": f"post_{random_id(rng, 24)}", "platform": "linkedin",
                            "url": f"https://www.linkedin.com/feed/update/{activity}/",
                            "publishedAt": js_time(event.at)}  # fmt: skip
        name, utm_campaign, path, objective, pillar = campaign.row[:5]
        state = campaign.state
        spent = state["clicks"] * state["clickRewardAmount"] + state["shares"] * 10
        details = {
            **dd.HEYOO_CAMPAIGN, **state, "name": name, "shareContext": f"{name}: worth a look!",
            "objective": objective, "description": f"{name} ({pillar})",
            "destinationUrl": f"https://lumora.io{path}", "utm_campaign": utm_campaign,
            "consumedBudget": min(spent, state["totalBudget"]),
            "creatorId": self.sharers[0]["id"],
            "contentPillarName": pillar, "updatedAt": js_time(event.at),
        }  # fmt: skip
        if event.kind in ("campaign.created", "campaign.launched"):
            data = details  # workspace events carry the campaign itself
        else:
            data |= {"campaign": details, "sharer": {k: sharer[k] for k in ("id", "name", "email")}}
        return js_json({"id": f"evt_{random_id(rng, 24)}", "event": event.kind,
                        "timestamp": js_time(event.at), "data": data})  # fmt: skip

    def _woodpecker(self, event: "DemoEvent") -> bytes:
        """prospect_replied, in an array of its own: Woodpecker never mixes event types."""
        who = event.who
        reply = {"id": self.rng.randint(10**8, 10**9), "mail_id": self.rng.randint(10**5, 10**6),
                 "subject": f"Re: {event.campaign.row[1]}",
                 "sender": f"{who.first} from {who.company}", "email": who.email,
                 "date": woodpecker_time(event.at - timedelta(seconds=7)),
                 "message": self.rng.choice(dd.REPLIES)}  # fmt: skip
        item = {"method": "prospect_replied", "prospect": self._prospect(event, "REPLIED"),
                "email": reply, "timestamp": woodpecker_time(event.at),
                "firm_id": dd.WOODPECKER_FIRM}  # fmt: skip
        return escaped_json([item])

    def woodpecker_click(self, event: "DemoEvent") -> dict:
        step = self._step(event)
        url = event.url or self._link(event.campaign.row[3], "https://lumora.io")
        return {"method": "link_clicked", "prospect": self._prospect(event, "ACTIVE"),
                "click_url": url, "step": step,
                "email_no": f"#{step}", "timestamp": woodpecker_time(event.at),
                "firm_id": dd.WOODPECKER_FIRM}  # fmt: skip

    def _step(self, event: "DemoEvent") -> int:
        """The sequence step whose e-mail was clicked: the later in the run it was sent, the
        later the step."""
        campaign = event.campaign
        run = ((event.sent or event.at) - self.start) / (self.now - self.start) - campaign.start
        return max(1, min(4, 1 + int(4 * run / max(campaign.end - campaign.start, 0.01))))

    def _prospect(self, event: "DemoEvent", status: str) -> dict:
        who, campaign, rng = event.who, event.campaign, self.rng
        names = who.city.country.english  # free text: usually the common name, sometimes not
        country = names[0] if len(names) == 1 or rng.random() < 0.8 else rng.choice(names[1:])
        step, opener = self._step(event), f"I saw {who.company} is hiring"
        return {
            **dd.WOODPECKER_PROSPECT, "id": who.id, "email": who.email, "first_name": who.first,
            "last_name": who.last, "company": who.company,
            "website": f"https://{who.email.split('@')[1]}",
            "linkedin_url": f"https://linkedin.com/in/{ascii_name(who.first)}-{ascii_name(who.last)}",
            "city": who.city.name, "country": country, "state": who.city.region_name,
            "snippet1": opener, "snippet_labels": {"Opening line": opener},
            # When the e-mail clicked in went out: seconds before a gateway's scan of it.
            "last_contacted": woodpecker_time(event.sent or event.at),
            "status": status, "emails_sent": step, "imported": f"{ascii_name(campaign.row[1])}.csv",
            "interested": "INTERESTED" if status == "REPLIED" and rng.random() < 0.4 else "",
            "campaign_id": int(campaign.row[0]), "campaign_name": campaign.row[1],
            "campaign_email_sent": step, "step": min(step + 1, 4),
        }  # fmt: skip

    def _opptima(self, event: "DemoEvent") -> bytes:
        rng, who, campaign = self.rng, event.who, event.campaign
        body = {
            "type": "Email marketing", "event": event.kind, "campid": campaign.row[0],
            "relid": dd.OPPTIMA_ACCOUNT, "cityName": who.city.name,
            "regionName": who.city.region_name, "countryName": who.city.country.spanish,
            # GeoIP places a reader near the city, not at its centre.
            "latitude": round(who.city.latitude + rng.uniform(-0.05, 0.05), 6),
            "longitude": round(who.city.longitude + rng.uniform(-0.05, 0.05), 6),
            "device_type": who.device.lower(), "browser": who.browser.removeprefix("Mobile "),
            "timestamp": opptima_time(event.at), "email": who.email,
            "campaignName": campaign.row[1], "subject": campaign.row[2], "contactId": str(who.id),
        }  # fmt: skip
        if event.kind == "click":
            body["destination"] = event.url or self._link(campaign.row[3], "https://www.lumora.co")
        return json.dumps(body, ensure_ascii=False).encode()  # Opptima: UTF-8, default spacing

    # --- small helpers --------------------------------------------------------------------------

    def _place(self, who: "DemoVisitor") -> dict:
        city = who.city
        return {"country": city.country.code, "city": city.name, "region": city.region_code,
                "continent": city.country.continent}  # fmt: skip

    def _referer(self, column: int) -> tuple[str, str]:
        host, url, *_ = self.rng.choices(dd.REFERERS, weights=[r[column] for r in dd.REFERERS])[0]
        return host, url.format(
            token=random_id(self.rng, 10), number=self.rng.randint(41_000_000, 42_500_000)
        )

    def _link(self, links: str, site: str) -> str:
        link = self.rng.choice(links.split())
        return link if link.startswith("https://") else site + link


def random_id(rng: random.Random, length: int) -> str:
    """Letters and digits, as the senders' own ids and tokens."""
    return "".join(rng.choices(string.ascii_letters + string.digits, k=length))


def cuid(rng: random.Random) -> str:
    """A cuid-like id ("cm" and 23 characters), as the demo's Dub links and Heyoo campaigns have."""
    return "cm" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=23))


def ascii_name(name: str) -> str:
    """A name as it appears in an e-mail address: "Núñez O'Brien" → "nunezobrien"."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum())
