"""The senders: demo webhook bodies posted at a steady rate, redelivered and retried like real ones.

Needs Django set up (the parsers import the models) but never touches a database: the expected
clicks are computed here from the bodies, independently of what the server answers. A 200 only
says a delivery was accepted (``{"delivery": <id>, "status": "received"}``, or ``{"delivery":
null, "status": "spooled", "spool_id": ...}`` while PostgreSQL is away); the clicks are made
later by the processing worker, so what a 200 acknowledges is the click identities of its body,
and the ids it names are kept to be looked up in the database afterwards.
"""

import asyncio
import json
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp

from analytics.senders import SENDERS, parser_for
from analytics.senders.fields import click_key
from clicktrack.demo import demo_deliveries

REDELIVERY_SHARE = 0.30  # of delivery slots: a body the sender already sent, sent again
IMMEDIATE_SHARE = 0.5  # of redeliveries: one of the last few bodies, often still in flight
LATER_AFTER = 5.0  # seconds: a "later" redelivery repeats a body sent at least this long ago
COPY_SHARE = 0.06  # of fresh bodies: sent as 2-3 copies at the same moment
BACKOFF_FIRST, BACKOFF_CAP = 0.5, 10.0
CLICK_EVENTS = {"dub": "link.clicked", "heyoo": "campaign.clicked"}


@dataclass
class Body:
    sender: str
    data: bytes
    keys: frozenset[tuple[str, str]]  # (sender, click_key) of every click in the body
    sent_at: float | None = None


def click_identities(sender: str, data: bytes) -> frozenset[tuple[str, str]]:
    """Dub and Heyoo: the click id in the body. Woodpecker and Opptima send none: the key the
    parser derives from the fields that identify the click (so a redelivery maps to it too)."""
    zone = ZoneInfo(SENDERS[sender].default_time_zone)
    events = parser_for(sender)(data, zone)
    # A sender's test event is stored as a test delivery and never becomes a click.
    parsed = {(sender, e.click.click_key) for e in events if e.click and not e.test}
    if sender not in CLICK_EVENTS:
        return frozenset(parsed)
    payload = json.loads(data)
    ids = set()
    # The demo's Dub clicks include the sample of "Send test event" (its link), kept as a test.
    if payload["event"] == CLICK_EVENTS[sender] and not any(e.test for e in events):
        ids.add((sender, click_key(payload["data"]["click"]["id"])))
    if ids != parsed:  # the generator and the parser disagree: the count check would be moot
        raise AssertionError(f"{sender} body: click ids {ids} but the parser found {parsed}")
    return frozenset(ids)


def make_bodies(count: int, now: datetime, seed: int) -> Iterator[Body]:
    """Distinct bodies from the demo generator (its own rare repeats are folded into one)."""
    seen: dict[bytes, Body] = {}
    for sender, data, _clicks in demo_deliveries(count, days=30, now=now, seed=seed):
        if data not in seen:
            seen[data] = Body(sender, data, click_identities(sender, data))
            yield seen[data]


class Phase:
    """Which part of the run a response belongs to; the outage scenario moves it along."""

    def __init__(self) -> None:
        self.name = "load"
        self.marks: dict[str, float] = {}

    def set(self, name: str, at: float) -> None:
        self.name = name
        self.marks[name] = at


@dataclass
class LoadStats:
    slots: int = 0
    deliveries: int = 0
    fresh: int = 0
    redeliveries_immediate: int = 0
    redeliveries_later: int = 0
    copy_groups: int = 0
    concurrent_copies: int = 0  # the copies beyond the first of each group
    attempts: int = 0
    retries: int = 0
    outcomes: Counter = field(default_factory=Counter)  # "200", "503", "timeout", "reset"…
    # The "status" of 200 answers ("received", "spooled"), by the phase they were answered in.
    accepted_by_phase: dict = field(default_factory=lambda: defaultdict(Counter))
    delivery_ids: list = field(default_factory=list)  # "delivery" of every 200 naming one
    spool_ids: list = field(default_factory=list)  # "spool_id" of every 200 "spooled"
    # Deliveries that got their 200 only after failed attempts, by their first failure.
    recovered: Counter = field(default_factory=Counter)
    errors: list = field(default_factory=list)  # (seconds into the run, outcome), non-200s
    by_phase: dict = field(default_factory=lambda: defaultdict(Counter))
    timeline: dict = field(default_factory=lambda: defaultdict(Counter))  # second -> outcomes
    latencies: list = field(default_factory=list)  # every answered attempt
    latencies_ok: list = field(default_factory=list)
    latencies_by_phase: dict = field(default_factory=lambda: defaultdict(list))
    failures: list = field(default_factory=list)  # deliveries that ended without a 200
    samples: dict = field(default_factory=dict)  # first response body per non-200 outcome
    missing_retry_after: int = 0
    last_error_at: float | None = None  # last 5xx / transport error, seconds into the run
    last_answer_at: float = 0.0
    elapsed: float = 0.0  # load and drain, seconds
    first_ok_after: dict = field(default_factory=dict)  # phase -> first 200 in that phase
    schedule_lag_max: float = 0.0

    def record(self, outcome: str, phase: str, at: float, latency: float | None) -> None:
        self.attempts += 1
        self.outcomes[outcome] += 1
        self.by_phase[phase][outcome] += 1
        self.timeline[int(at)][outcome] += 1
        self.last_answer_at = max(self.last_answer_at, at)
        if latency is not None:
            self.latencies.append(latency)
            self.latencies_by_phase[phase].append(latency)
            if outcome == "200":
                self.latencies_ok.append(latency)
        if outcome == "200":
            self.first_ok_after.setdefault(phase, at)
        else:
            if len(self.errors) < 100_000:
                self.errors.append((round(at, 3), outcome))
            if not outcome.startswith("4"):
                self.last_error_at = at


class Senders:
    """Posts bodies open-loop at ``rate`` per second and retries each until a 200 or a 4xx."""

    def __init__(
        self,
        base_url: str,
        endpoints: dict[str, tuple[str, str]],
        bodies: Iterator[Body],
        phase: Phase,
        seed: int,
        timeout: float,
    ) -> None:
        self.base_url, self.endpoints, self.bodies = base_url, endpoints, bodies
        self.phase, self.rng, self.timeout = phase, random.Random(seed), timeout
        self.stats = LoadStats()
        self.expected: set[tuple[str, str]] = set()  # every click sent
        self.acknowledged: set[tuple[str, str]] = set()  # clicks of bodies answered 200
        self.sent: list[Body] = []
        self.recent: deque[Body] = deque(maxlen=30)
        self.start = 0.0
        self.give_up_at = 0.0

    def now(self) -> float:
        return time.monotonic() - self.start

    async def run(self, rate: float, duration: float, drain: float) -> None:
        self.start = time.monotonic()
        self.give_up_at = duration + drain
        # Like independent senders: a connection per attempt (no keep-alive race with gunicorn
        # to blame a reset on) and no client-side queue; the timeout covers the whole attempt.
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        tasks: set[asyncio.Future] = set()
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            total = int(rate * duration)
            while self.stats.slots < total:
                # Open loop: the schedule never waits for answers, as real senders do not. All
                # slots due are launched at once, so a busy event loop (a retry storm) delays
                # them a little but cannot lower the offered rate.
                due = min(total, int(self.now() * rate) + 1)
                lag = self.now() - self.stats.slots / rate
                self.stats.schedule_lag_max = max(self.stats.schedule_lag_max, lag)
                while self.stats.slots < due:
                    task = asyncio.ensure_future(self._next_slot(session))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.sleep(max(0.0, self.stats.slots / rate - self.now()))
            # Drain: retries of the last deliveries; each gives up by itself at give_up_at.
            if tasks:
                await asyncio.wait(tasks, timeout=drain + self.timeout + 15)
            leftovers = list(tasks)
            for task in leftovers:  # only if a request outlived every bound
                task.cancel()
                self.stats.failures.append({"reason": "cancelled after the drain"})
            await asyncio.gather(*leftovers, return_exceptions=True)
        self.stats.elapsed = self.now()

    def _next_slot(self, session: aiohttp.ClientSession) -> Awaitable[object]:
        """Decide what this slot sends (synchronously, so slots are counted before the next
        one is scheduled) and return the sending."""
        stats, rng = self.stats, self.rng
        if self.sent and rng.random() < REDELIVERY_SHARE:
            stats.slots += 1
            return self._deliver(session, self._pick_redelivery(), "redelivery")
        body = next(self.bodies, None)
        if body is None:  # more slots than bodies: make it a later redelivery
            stats.slots += 1
            return self._deliver(session, self._pick_redelivery(later=True), "redelivery")
        body.sent_at = self.now()
        self.sent.append(body)
        self.recent.append(body)
        self.expected |= body.keys
        stats.fresh += 1
        copies = rng.choice((2, 3)) if rng.random() < COPY_SHARE else 1
        stats.slots += copies
        if copies > 1:
            stats.copy_groups += 1
            stats.concurrent_copies += copies - 1
        # Same bytes, same moment: the requests race each other through intake.
        return asyncio.gather(*(self._deliver(session, body, "fresh") for _ in range(copies)))

    def _pick_redelivery(self, later: bool = False) -> Body:
        if not later and self.rng.random() < IMMEDIATE_SHARE:
            self.stats.redeliveries_immediate += 1
            return self.rng.choice(self.recent)
        self.stats.redeliveries_later += 1
        cutoff = self.now() - LATER_AFTER
        old = [b for b in self.sent[-5000:] if b.sent_at is not None and b.sent_at <= cutoff]
        return self.rng.choice(old or self.sent)

    async def _deliver(self, session: aiohttp.ClientSession, body: Body, kind: str) -> None:
        """One delivery as a sender makes it: retry on 5xx, 429, timeouts and transport errors
        with backoff 0.5 s, 1 s, 2 s … capped at 10 s, until a 200 or a 4xx."""
        self.stats.deliveries += 1
        path, secret = self.endpoints[body.sender]
        headers = {"Content-Type": "application/json", "User-Agent": f"{body.sender}-reliability"}
        if secret:
            headers.update(SENDERS[body.sender].sign_headers(secret, body.data))
        backoff = BACKOFF_FIRST
        first_failure = None
        while True:
            outcome = await self._attempt(session, self.base_url + path, body, headers)
            if outcome == "200":
                self.acknowledged |= body.keys
                if first_failure is not None:
                    self.stats.recovered[first_failure] += 1
                return
            first_failure = first_failure or outcome
            if outcome.startswith("4") and outcome != "429":
                self.stats.failures.append(
                    {
                        "reason": f"HTTP {outcome}",
                        "sender": body.sender,
                        "kind": kind,
                        "response": self.stats.samples.get(outcome, ""),
                    }
                )
                return
            if self.now() + backoff > self.give_up_at:
                self.stats.failures.append(
                    {"reason": f"gave up after {outcome}", "sender": body.sender, "kind": kind}
                )
                return
            self.stats.retries += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_CAP)

    async def _attempt(
        self, session: aiohttp.ClientSession, url: str, body: Body, headers: dict[str, str]
    ) -> str:
        began = time.monotonic()
        latency: float | None = None
        try:
            async with session.post(url, data=body.data, headers=headers) as response:
                content = await response.read()
                latency = time.monotonic() - began
                outcome = str(response.status)
                if response.status == 503 and not response.headers.get("Retry-After"):
                    self.stats.missing_retry_after += 1
                if response.status == 200:
                    self._accepted(content)
                else:
                    self.stats.samples.setdefault(outcome, content[:300].decode(errors="replace"))
        except TimeoutError:
            outcome = "timeout"
        except aiohttp.ClientConnectorError as exc:  # nothing accepted the connection
            outcome = "connect-error"
            self.stats.samples.setdefault(outcome, repr(exc)[:300])
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            # Reset or closed before an answer: the gunicorn worker holding it was killed, or
            # (under overload) the kernel reset a connection while the listen backlog was full.
            outcome = "reset"
            self.stats.samples.setdefault(outcome, repr(exc)[:300])
        except aiohttp.ClientError as exc:
            outcome = f"client-error:{type(exc).__name__}"
            self.stats.samples.setdefault(outcome, repr(exc)[:300])
        self.stats.record(outcome, self.phase.name, self.now(), latency)
        return outcome

    def _accepted(self, content: bytes) -> None:
        """File a 200's answer: where the delivery went (PostgreSQL or the spool) and its id."""
        try:
            answer = json.loads(content)
            status = str(answer["status"])
        except (ValueError, KeyError, TypeError):
            status = "unreadable"
            answer = {}
            self.stats.samples.setdefault("200 unreadable", content[:300].decode(errors="replace"))
        self.stats.accepted_by_phase[self.phase.name][status] += 1
        if answer.get("delivery") is not None:
            self.stats.delivery_ids.append(answer["delivery"])
        if status == "spooled":
            self.stats.spool_ids.append(answer.get("spool_id"))


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
