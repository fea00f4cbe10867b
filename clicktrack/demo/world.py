"""The demo's world: who clicks, on which campaign, from where and when, and the events around
the clicks. ``payloads`` renders each event as its sender's body; ``data`` holds the tables.

Pure and deterministic: everything is drawn from one ``random.Random(seed)`` and the given ``now``;
nothing touches the database. People's addresses are drawn again when the datacenter list
(``analytics.bots``, the settings' ``BOT_DATACENTER_IP_FILES``) names them, so the same seed gives
the same bodies for the same list.

Machines, as intake's rules (analytics/bots.py) should find them: crawlers and link unfurlers on
Heyoo (Dub drops them before sending; its app deep links stay, and are people), a few of them
flagged by Heyoo itself, machines posing as browsers from cloud addresses, and the mail gateways
that follow every link of an e-mail on delivery (Woodpecker, Opptima).
"""

import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from itertools import accumulate
from math import exp
from zoneinfo import ZoneInfo

from analytics.bots import is_datacenter_ip
from clicktrack.demo import data as dd
from clicktrack.demo.payloads import (
    SenderPayloads,
    ascii_name,
    cuid,
    escaped_json,
    js_time,
    random_id,
)

SENDER_SHARES = {"dub": 40, "heyoo": 30, "woodpecker": 15, "opptima": 15}
# Of Heyoo clicks: crawlers and link unfurlers fetching shared posts' links, and machines posing
# as browsers from cloud addresses (CLOUD_FETCHER_SHARE of them).
HEYOO_MACHINE_RATE = 0.035
CLOUD_FETCHER_SHARE = 0.3
APP_CLICK_RATE = 0.01  # of Dub clicks: an app opening a deep link (okhttp), a person
# Of Opptima subscribers: those reading at a work address behind a mail gateway (Woodpecker's
# prospects are behind one when their company is in GATEWAY_COMPANIES, also ~12%).
OPPTIMA_GATEWAY_RATE = 0.12
# A gateway scans every e-mail it delivers; its reader clicks in only some of them, hours later.
HUMAN_AFTER_SCAN = 0.5
# When the gateway gets to a message: within seconds of delivery (SCAN_AT_ONCE of messages, so
# Woodpecker's last_contacted shows them as too fast), else after minutes in its queue. It then
# follows the links within SCAN_SECONDS.
SCAN_AT_ONCE = 0.5
SCAN_SECONDS = 1.5
# People read an e-mail from 20 minutes to days after it is sent; a click within REREAD of an
# earlier one in the same campaign is in the same e-mail.
READ_AFTER_MIN = timedelta(minutes=20)
READ_AFTER_MEAN_HOURS = 8
REREAD = timedelta(days=3)
# Senders retry after a timeout, so a few bodies arrive twice; intake must not count them twice.
REDELIVERY_RATE = 0.003
CLICK_EVENTS = {"link.clicked", "campaign.clicked", "link_clicked", "click"}
# Desktop, Mobile, Tablet: LinkedIn posts and newsletters are mostly read on phones.
_DEVICE_MIX = {"dub": (55, 40, 5), "heyoo": (38, 56, 6), "woodpecker": (70, 27, 3),
               "opptima": (42, 53, 5)}  # fmt: skip
# Clicks by the visitor's local hour: office hours on weekdays, a flatter day at weekends.
# Cumulative, for bisect; bench/load_clicks.py takes the same rhythm.
WEEKDAY_HOURS = list(accumulate((0.2, 0.12, 0.08, 0.08, 0.1, 0.2, 0.45, 0.9, 1.5, 1.9, 2.0,
                                 1.9, 1.5, 1.6, 1.8, 1.7, 1.5, 1.2, 0.9, 0.8, 0.8, 0.7, 0.5,
                                 0.3)))  # fmt: skip
WEEKEND_HOURS = list(accumulate((0.3, 0.2, 0.12, 0.1, 0.1, 0.15, 0.25, 0.4, 0.6, 0.85, 1.0,
                                 1.05, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.0, 0.7,
                                 0.45)))  # fmt: skip
DAY_FACTOR = (1.0, 1.08, 1.1, 1.05, 0.9, 0.42, 0.36)  # Monday … Sunday
# What machines posing as a browser claim to be: the commonest browser.
_WINDOWS_CHROME = next(row for row in dd.USER_AGENTS if row[:3] == ("Desktop", "Windows", "Chrome"))


def demo_deliveries(
    clicks: int, days: int, now: datetime, seed: int = 7
) -> Iterator[tuple[str, bytes, int]]:
    """(sender, body, click events in the body) in arrival order: ``clicks`` distinct clicks,
    all within ``days`` days before ``now``. A redelivered body repeats its clicks. The first
    delivery is Dub's "Send test event", whose sample click is not counted (0 click events)."""
    return _World(random.Random(seed), days, now).deliveries(clicks)


@dataclass
class DemoVisitor:
    city: dd.City
    ip: str
    device: str  # as Dub writes it ("Desktop"); the others get it lower-cased
    os: str
    browser: str
    ua: str
    machine: bool = False  # a crawler or a fetcher, not a person (not e-mail scanners: events)
    flagged: bool = False  # the sender itself says bot (Heyoo's bot: true)
    # An e-mail recipient behind a mail gateway: where the gateway's sandbox runs.
    gateway: dd.City | None = None
    # E-mail recipients (Woodpecker prospects, Opptima subscribers) are known by name.
    id: int = 0
    first: str = ""
    last: str = ""
    email: str = ""
    company: str = ""


@dataclass
class DemoCampaign:
    sender: str
    row: list[str]
    popularity: float
    start: float
    end: float
    spike: float | None = None
    sends: tuple[float, ...] = ()
    day_cum: list[float] = field(default_factory=list)
    clickers: list[DemoVisitor] = field(default_factory=list)
    state: dict = field(default_factory=dict)  # what the sender reports: id, counters…


@dataclass
class DemoEvent:
    at: datetime
    seq: int
    sender: str
    kind: str
    campaign: DemoCampaign
    who: DemoVisitor | None = None
    qr: bool = False
    source: "DemoEvent | None" = None  # the click a lead or reply follows
    payload: dict | None = None  # the click as sent, which Dub repeats in lead.created
    # E-mail clicks: when the e-mail clicked in was sent (Woodpecker's last_contacted), and for
    # a gateway's scan, the link it followed.
    sent: datetime | None = None
    scanner: bool = False
    url: str = ""


class _World(SenderPayloads):
    def __init__(self, rng: random.Random, days: int, now: datetime) -> None:
        self.rng, self.now = rng, now.astimezone(UTC)
        self.start = self.now - timedelta(days=days)
        # Local dates a click may fall on; rejection in _moment trims the two partial ends.
        first = self.start.date() - timedelta(days=1)
        self.dates = [first + timedelta(days=k) for k in range(days + 3)]
        self.base = [  # weekday rhythm x gentle growth x day-to-day noise
            DAY_FACTOR[day.weekday()] * (0.75 + 0.5 * k / (days + 2)) * rng.lognormvariate(0, 0.12)
            for k, day in enumerate(self.dates)
        ]
        self.countries = list(dd.COUNTRIES.values())
        self.global_cum = list(accumulate(c.weight for c in self.countries))
        self.latam_cum = list(accumulate(c.latam_weight for c in self.countries))
        self.sharers = [self._sharer() for _ in range(24)]
        self.sharer_cum = list(accumulate(1 / (i + 1) for i in range(24)))  # a few power users
        self.pools: dict[str, list[DemoVisitor]] = {sender: [] for sender in SENDER_SHARES}
        self.machines: list[DemoVisitor] = []
        # When each recipient was sent each campaign's e-mails: (recipient id, campaign id).
        self.mailings: dict[tuple[int, str], list[datetime]] = {}
        self.zones: dict[str, ZoneInfo] = {}  # ZoneInfo's own cache keeps too few of them
        self.crawler_cum = list(accumulate(row[2] for row in dd.CRAWLERS))
        self.fetcher_cum = list(accumulate(dd.CLOUD_FETCHERS.values()))
        self.gateway_places = [
            city for code, name in dd.GATEWAY_PLACES
            for city in dd.CITIES_BY_COUNTRY[code] if city.name == name
        ]  # fmt: skip
        self.campaigns = self._campaigns()
        self.campaign_cum = {
            sender: list(accumulate(c.popularity * c.day_cum[-1] for c in campaigns))
            for sender, campaigns in self.campaigns.items()
        }
        self.sender_cum = list(accumulate(SENDER_SHARES.values()))

    def deliveries(self, clicks: int) -> Iterator[tuple[str, bytes, int]]:
        events: list[DemoEvent] = []
        while len(events) < clicks:
            for event in self._click(clicks - len(events)):
                event.seq = len(events)
                events.append(event)
        events += self._side_events(events)
        events.sort(key=lambda event: (event.at, event.seq))
        # Whoever set up the Dub endpoint pressed "Send test event" first; sent once, as Dub's
        # button does (no redelivery).
        yield "dub", self.dub_test_event(), 0
        # Woodpecker sends arrays of same-type events; batching a few clicks at a time makes
        # arrays show up even in a small demo.
        batch: list[dict] = []
        for event in events:
            if event.kind == "link_clicked":
                batch.append(self.woodpecker_click(event))
                if len(batch) >= self.rng.choice((1, 2, 3, 3, 4, 5, 6, 8)):
                    yield from self._send("woodpecker", escaped_json(batch), len(batch))
                    batch = []
            else:
                body = self.body(event)
                yield from self._send(event.sender, body, int(event.kind in CLICK_EVENTS))
        if batch:
            yield from self._send("woodpecker", escaped_json(batch), len(batch))

    def _send(self, sender: str, body: bytes, clicks: int) -> Iterator[tuple[str, bytes, int]]:
        yield sender, body, clicks
        if self.rng.random() < REDELIVERY_RATE:
            yield sender, body, clicks

    # --- who clicks, where and when -----------------------------------------------------------

    def _click(self, room: int) -> list[DemoEvent]:
        """One click, or for an e-mail behind a gateway its scan too (at most ``room`` clicks)."""
        rng = self.rng
        sender = rng.choices(list(SENDER_SHARES), cum_weights=self.sender_cum)[0]
        campaign = rng.choices(self.campaigns[sender], cum_weights=self.campaign_cum[sender])[0]
        if sender == "heyoo" and rng.random() < HEYOO_MACHINE_RATE:
            who = self._machine()
        elif sender == "dub" and rng.random() < APP_CLICK_RATE:
            who = self._app_user()
        else:
            who = self._returning(campaign) or self._newcomer(campaign)
            campaign.clickers.append(who)
            self.pools[sender].append(who)
        qr_rate = float(campaign.row[6]) if sender == "dub" else 0.22 if sender == "heyoo" else 0
        qr = who.device != "Desktop" and not who.machine and rng.random() < qr_rate
        kind = {"dub": "link.clicked", "heyoo": "campaign.clicked", "opptima": "click"}
        at = self._moment(campaign.day_cum, self._zone(who.city.time_zone), anytime=who.machine)
        event = DemoEvent(at, 0, sender, kind.get(sender, "link_clicked"), campaign, who, qr)
        if sender in ("woodpecker", "opptima"):
            return self._email_click(event, room)
        return [event]

    def _email_click(self, event: DemoEvent, room: int) -> list[DemoEvent]:
        """A recipient's click in an e-mail, dated from its sending; the first click in an
        e-mail behind a gateway brings the gateway's scan of it, on delivery."""
        rng, who = self.rng, event.who
        key = (who.id, event.campaign.row[0])
        mailings = self.mailings.setdefault(key, [])
        for sent in mailings:
            if READ_AFTER_MIN <= event.at - sent <= REREAD:
                event.sent = sent  # the same e-mail again: it was scanned then, if ever
                return [event]
        hours = rng.expovariate(1 / READ_AFTER_MEAN_HOURS)
        event.sent = event.at - READ_AFTER_MIN - timedelta(hours=hours)
        mailings.append(event.sent)
        if who.gateway is None or event.sent < self.start + timedelta(seconds=1):
            return [event]
        scan = self._scan(event)
        if len(scan) + 1 > room:  # the demo's last clicks: no room for a whole scan
            return [event]
        return [*scan, event] if rng.random() < HUMAN_AFTER_SCAN else scan

    def _scan(self, event: DemoEvent) -> list[DemoEvent]:
        """The gateway following links of the e-mail (2 or more different ones, as the burst rule
        needs) within SCAN_SECONDS, at once or after a while in its queue."""
        rng, campaign, sent = self.rng, event.campaign, event.sent
        site = "https://lumora.io" if event.sender == "woodpecker" else "https://www.lumora.co"
        links = [link if link.startswith("https://") else site + link
                 for link in campaign.row[3].split()]  # fmt: skip
        links += dd.EMAIL_FOOTER_LINKS[event.sender]
        followed = rng.sample(links, rng.randint(2, len(links)))
        wait = rng.uniform(1, 12) if rng.random() < SCAN_AT_ONCE else 20 + rng.uniform(0, 600)
        first = sent + timedelta(seconds=wait)
        offsets = sorted(rng.uniform(0, SCAN_SECONDS) for _ in followed)
        # Woodpecker locates a click at its prospect's; Opptima by IP, so at the sandbox's.
        who = event.who
        if event.sender == "opptima":
            browser = rng.choice(("Edge", "Chrome"))
            who = replace(who, city=who.gateway, device="Desktop", os="Windows", browser=browser)
        return [
            DemoEvent(first + timedelta(seconds=offset), 0, event.sender, event.kind, campaign,
                      who, sent=sent, scanner=True, url=url)
            for offset, url in zip(offsets, followed, strict=True)
        ]  # fmt: skip

    def _returning(self, campaign: DemoCampaign) -> DemoVisitor | None:
        """Someone who clicked before: on this campaign, or on another of the sender's."""
        again, elsewhere = {"dub": (0.2, 0.08), "heyoo": (0.18, 0.1), "woodpecker": (0.35, 0)}.get(
            campaign.sender,
            (0.22, 0.35),  # Opptima mails the same subscriber list every time
        )
        roll, pool = self.rng.random(), self.pools[campaign.sender]
        if campaign.clickers and roll < again:
            return self.rng.choice(campaign.clickers)
        if pool and roll < again + elsewhere:
            return self.rng.choice(pool)
        return None

    def _newcomer(self, campaign: DemoCampaign) -> DemoVisitor:
        rng, sender = self.rng, campaign.sender
        if sender == "woodpecker" and campaign.row[2] != "*":  # prospects of a targeted list
            country = rng.choice(campaign.row[2].split())
        else:
            cum = self.latam_cum if sender == "opptima" else self.global_cum
            country = rng.choices(self.countries, cum_weights=cum)[0].code
        visitor = self._visitor(sender, country)
        if sender in ("woodpecker", "opptima"):
            visitor.first, visitor.last = rng.choice(dd.FIRST_NAMES), rng.choice(dd.LAST_NAMES)
            visitor.company = rng.choice(dd.COMPANIES)
            domain = ascii_name(visitor.company).replace(" ", "") + ".com"
            work = f"{ascii_name(visitor.first)}.{ascii_name(visitor.last)}@{domain}"
            if sender == "woodpecker":  # a work address at the prospect's company
                visitor.email, visitor.id = work, rng.randint(10**9, 2 * 10**9)
                if visitor.company in dd.GATEWAY_COMPANIES:
                    visitor.gateway = rng.choice(self.gateway_places)
            elif rng.random() < OPPTIMA_GATEWAY_RATE:
                # Subscribed at work: the employer's gateway scans (consumer mailboxes do not).
                visitor.email, visitor.id = work, rng.randint(10**8, 10**9)
                visitor.gateway = rng.choice(self.gateway_places)
            else:  # a newsletter subscriber's personal address
                number = rng.randint(1, 99) if rng.random() < 0.5 else ""
                handle = f"{ascii_name(visitor.first)}{ascii_name(visitor.last)}{number}"
                visitor.email = f"{handle}@{rng.choice(dd.MAIL_DOMAINS)}"
                visitor.id = rng.randint(10**8, 10**9)
        return visitor

    def _visitor(self, sender: str, country: str) -> DemoVisitor:
        rng = self.rng
        city = self._city(country)
        device = rng.choices(("Desktop", "Mobile", "Tablet"), weights=_DEVICE_MIX[sender])[0]
        android = 2.5 if country in dd.ANDROID_COUNTRIES else 1.0
        agents = [row for row in dd.USER_AGENTS if row[0] == device]
        weights = [row[3] * (android if row[1] == "Android" else 1) for row in agents]
        row = rng.choices(agents, weights=weights)[0]
        # Phones are on their carrier's network most of the time, tablets mostly on Wi-Fi.
        carrier = {"Desktop": 0.0, "Mobile": 0.7, "Tablet": 0.1}[device]
        ip = self._person_ip(city.country.continent, carrier)
        return DemoVisitor(city, ip, device, row[1], row[2], self._browser_ua(row))

    def _browser_ua(self, row: tuple[str, str, str, float, str]) -> str:
        rng = self.rng
        return row[4].format(
            c=rng.randint(124, 131), f=rng.randint(127, 133), a=rng.randint(10, 14),
            s=rng.choice(("17.5", "17.6", "18.0", "18.1")),
            i=rng.choice(("17_5", "17_6_1", "18_0", "18_0_1", "18_1")),
        )  # fmt: skip

    def _app_user(self) -> DemoVisitor:
        """Someone on a phone whose app opens a Dub deep link: a person, with the HTTP library's
        user agent, which Dub reads as "Desktop", "Unknown", "Unknown" and counts."""
        country = self.rng.choices(self.countries, cum_weights=self.global_cum)[0].code
        city = self._city(country)
        ip = self._person_ip(city.country.continent, carrier=0.7)
        ua = self.rng.choice(dd.APP_AGENTS)
        return DemoVisitor(city, ip, "Desktop", "Unknown", "Unknown", ua)

    def _machine(self) -> DemoVisitor:
        """A crawler or unfurler from its operator's network, or a machine posing as a desktop
        browser from a cloud address. Machines come back: usually one already seen."""
        rng = self.rng
        if self.machines and rng.random() < 0.6:
            return rng.choice(self.machines)
        if rng.random() < CLOUD_FETCHER_SHARE:
            operator = rng.choices(list(dd.CLOUD_FETCHERS), cum_weights=self.fetcher_cum)[0]
            ua, os, browser, flagged = self._browser_ua(_WINDOWS_CHROME), "Windows", "Chrome", False
        else:
            ua, operator, _, flagged = rng.choices(dd.CRAWLERS, cum_weights=self.crawler_cum)[0]
            os = browser = "Unknown"
        country, networks = dd.MACHINE_NETWORKS[operator]
        # A crawler's address is its operator's, listed as a datacenter or not (LinkedIn, Meta
        # and X are not); a fetcher posing as a browser must be given away by its address.
        for _ in range(100):
            ip = self._address(networks)
            if operator not in dd.CLOUD_FETCHERS or is_datacenter_ip(ip):
                break
        else:
            raise ValueError(f"No address of {operator} in the datacenter list.")
        city = dd.CITIES_BY_COUNTRY[country][0]
        machine = DemoVisitor(city, ip, "Desktop", os, browser, ua, machine=True, flagged=flagged)
        self.machines.append(machine)
        return machine

    def _person_ip(self, continent: str, carrier: float) -> str:
        """A home ISP's or (``carrier`` of the time) a mobile carrier's address, never one the
        datacenter list names: a person must not be flagged as a datacenter by accident."""
        rng = self.rng
        for _ in range(100):
            if carrier and rng.random() < 0.3:  # many mobile carriers hand out IPv6
                hextets = ":".join(f"{rng.randrange(65536):x}" for _ in range(4))
                ip = f"{rng.choice(dd.IPV6_PREFIXES[continent])}::{hextets}"
            else:
                kind = "mobile" if rng.random() < carrier else "home"
                ip = self._address(dd.PEOPLE_NETWORKS[continent][kind])
            if not is_datacenter_ip(ip):
                return ip
        raise ValueError(f"The {continent} networks in PEOPLE_NETWORKS are all datacenters'.")

    def _city(self, country: str) -> dd.City:
        cities = dd.CITIES_BY_COUNTRY[country]
        return self.rng.choices(cities, weights=[c.weight for c in cities])[0]

    def _address(self, networks: list[tuple[int, int]]) -> str:
        """An IPv4 host address (last byte 1-254) in one of the networks (/24 or wider)."""
        first, size = self.rng.choice(networks)
        number = first + self.rng.randrange(size >> 8) * 256 + self.rng.randint(1, 254)
        return f"{number >> 24}.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"

    def _moment(self, day_cum: list[float], zone: ZoneInfo, anytime: bool = False) -> datetime:
        """A day by the campaign's curve, then an hour of the visitor's own day (machines: any)."""
        rng = self.rng
        while True:  # rejecting moments outside the window keeps it exact
            day = self.dates[bisect(day_cum, rng.random() * day_cum[-1])]
            hours = WEEKEND_HOURS if day.weekday() >= 5 else WEEKDAY_HOURS
            hour = rng.randrange(24) if anytime else bisect(hours, rng.random() * hours[-1])
            clock = time(hour, rng.randrange(60), rng.randrange(60), rng.randrange(1000) * 1000)
            moment = datetime.combine(day, clock, zone).astimezone(UTC)
            if self.start + timedelta(seconds=1) <= moment <= self.now - timedelta(seconds=1):
                return moment

    # --- campaigns, and the events around clicks ----------------------------------------------

    def _campaigns(self) -> dict[str, list[DemoCampaign]]:
        tables = dd.DUB_LINKS, dd.HEYOO_CAMPAIGNS, dd.WOODPECKER_CAMPAIGNS, dd.OPPTIMA_CAMPAIGNS
        campaigns: dict[str, list[DemoCampaign]] = {sender: [] for sender in SENDER_SHARES}
        for sender, rows in zip(SENDER_SHARES, tables, strict=True):
            for row in rows:
                popularity, start, end, spike, sends = row[-5:]
                campaign = DemoCampaign(
                    sender, row, float(popularity), float(start), float(end),
                    spike=None if spike == "-" else float(spike),
                    sends=() if sends == "-" else tuple(map(float, sends.split())),
                )  # fmt: skip
                campaign.day_cum = self._day_curve(campaign)
                campaign.state = self._initial_state(campaign)
                campaigns[sender].append(campaign)
        return campaigns

    def _day_curve(self, campaign: DemoCampaign) -> list[float]:
        """Cumulative click weight by date: the base rhythm while live, plus fading bursts after
        each e-mail send and launch spike."""
        days = len(self.dates) - 3  # dates 1 … days + 1 are the window's

        def index(fraction: float) -> int:
            return 1 + min(round(fraction * days), days)

        low = 1 + min(round(campaign.start * days), days - 1)
        high = max(low + 1, index(campaign.end))
        if campaign.sender == "woodpecker":  # steps spread over the campaign's own run
            bursts = [low + round(s * (high - low)) for s in campaign.sends]
        else:
            bursts = [index(s) for s in campaign.sends]
        if campaign.spike is not None:
            bursts.append(index(campaign.spike))
        fade = max(1.0, days / 30)  # over a few days in a long demo, within a day in a short one
        weights = []
        for k, base in enumerate(self.base):
            weight = 0.0 if campaign.sends else base
            weight += sum(5 * base * exp(-(k - b) / fade) for b in bursts if k >= b)
            weights.append(weight if low <= k <= high else 0.0)
        return list(accumulate(weights))

    def _initial_state(self, campaign: DemoCampaign) -> dict:
        rng, row = self.rng, campaign.row
        started = self.start + (self.now - self.start) * campaign.start
        created = js_time(started - timedelta(days=rng.uniform(2, 20)))
        if campaign.sender == "dub":
            utm = zip(("utm_source", "utm_medium", "utm_campaign"), row[3:6], strict=True)
            query = "&".join(f"{name}={value}" for name, value in utm if value)
            return {"id": cuid(rng), "url": f"{row[2]}?{query}" if query else row[2],
                    "clicks": rng.randint(0, 400), "lastClicked": None, "leads": rng.randint(0, 40),
                    "sales": rng.randint(0, 10), "saleAmount": rng.randint(0, 50) * 1000,
                    "createdAt": created}  # fmt: skip
        if campaign.sender == "heyoo":
            ends = js_time(self.start + (self.now - self.start) * campaign.end)
            return {"id": cuid(rng), "createdAt": created, "startDate": js_time(started),
                    "endDate": ends, "clicks": 0, "shares": rng.randint(0, 30),
                    "totalBudget": rng.choice((2000, 5000, 10000)),
                    "clickRewardAmount": rng.choice((1, 2))}  # fmt: skip
        return {}

    def _side_events(self, clicks: list[DemoEvent]) -> list[DemoEvent]:
        """Events that are not clicks but reach the same endpoints: intake must ignore them."""
        rng, extra = self.rng, []

        def add(at: datetime, kind: str, click: DemoEvent) -> None:
            if self.start <= at <= self.now:
                seq = len(clicks) + len(extra)
                extra.append(
                    DemoEvent(at, seq, click.sender, kind, click.campaign, click.who,
                              source=click, sent=click.sent)
                )  # fmt: skip

        for click in clicks:
            if click.scanner:  # a gateway's scan: no reply, no open of its own
                continue
            roll = rng.random()
            if click.sender == "dub" and roll < 0.035:
                add(click.at + timedelta(minutes=rng.expovariate(1 / 40)), "lead.created", click)
            elif click.sender == "heyoo" and roll < 0.12:  # an employee shares, people click
                shared = click.at - timedelta(hours=rng.expovariate(1 / 8))
                add(shared, "campaign.shared", click)
                if roll < 0.05:
                    add(shared + timedelta(seconds=rng.randint(5, 90)), "post.published", click)
            elif click.sender == "woodpecker" and roll < 0.08:
                add(click.at + timedelta(hours=rng.expovariate(1 / 5)), "prospect_replied", click)
            elif click.sender == "opptima" and roll < 0.35:  # the open before the click
                add(click.at - timedelta(minutes=rng.expovariate(1 / 30)), "open", click)
        for campaign in self.campaigns["heyoo"]:
            launch = self.start + (self.now - self.start) * campaign.start + timedelta(hours=1)
            stub = DemoEvent(launch, 0, "heyoo", "", campaign)
            add(launch - timedelta(days=2), "campaign.created", stub)
            add(launch, "campaign.launched", stub)
        return extra

    # --- small helpers --------------------------------------------------------------------------

    def _zone(self, name: str) -> ZoneInfo:
        if name not in self.zones:
            self.zones[name] = ZoneInfo(name)
        return self.zones[name]

    def _sharer(self) -> dict:
        first, last = self.rng.choice(dd.FIRST_NAMES), self.rng.choice(dd.LAST_NAMES)
        email = f"{ascii_name(first)}.{ascii_name(last)}@lumora.io"
        return {"id": f"usr_{random_id(self.rng, 20)}", "name": f"{first} {last}", "email": email,
                "ref": random_id(self.rng, 8)}  # fmt: skip
