"""What the intake and freshness benchmarks share: bodies, signing, an open-loop client, the worker.

Bodies come from clicktrack.demo (the generator `seed_demo` feeds through the real intake), so
they are the four senders' real shapes; the click identities of each body are computed here by
reliability_load.click_identities, independently of what the server answers. Needs Django set
up (the parsers import the models) but never touches a database itself, apart from
``processing_worker``'s backlog reads.
"""

import asyncio
import json
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from reliability_worker import Backlog, Worker

Endpoints = dict[str, tuple[str, str]]  # sender -> (path, secret), as prepare_database returns


def setup_django(database_url: str, spool_path: str | None = None) -> None:
    """The parsers import the models: set Django up on the scratch database (never var/pgdata),
    with the run's spool file (the endpoint cache keeps a copy there) if given."""
    os.environ["DATABASE_URL"] = database_url
    if spool_path:
        os.environ["WEBHOOK_SPOOL_PATH"] = spool_path
    os.environ["DJANGO_SETTINGS_MODULE"] = "clicktrack.settings"
    import django

    django.setup()


def headers_for(sender: str, secret: str, data: bytes) -> dict[str, str]:
    """The headers the real sender sends: Dub and Heyoo sign the body, Opptima a bearer key."""
    from analytics.senders import SENDERS

    headers = {"Content-Type": "application/json", "User-Agent": f"{sender}-bench"}
    return headers | SENDERS[sender].sign_headers(secret, data)


def retime(sender: str, payload: object, moment: datetime) -> bytes:
    """The body re-dated to `moment` and serialized as its sender does. Webhooks arrive seconds
    after the click, so live traffic is dated now (the demo spreads clicks over 30 days)."""
    from clicktrack.demo import escaped_json, js_json, js_time, opptima_time, woodpecker_time

    if sender == "woodpecker":
        for item in payload:
            item["timestamp"] = woodpecker_time(moment)
        return escaped_json(payload)
    if sender == "opptima":
        payload["timestamp"] = opptima_time(moment)
        return json.dumps(payload, ensure_ascii=False).encode()
    envelope = "createdAt" if sender == "dub" else "timestamp"
    payload[envelope] = payload["data"]["click"]["timestamp"] = js_time(moment)
    return js_json(payload)


class LazyBody:
    """A body to post (as reliability_load.Body: sender, data, keys), whose click identities
    are computed from its bytes only when asked: parsing costs more than making the body, and
    a run posts only part of what it prepares. `clicks` is how many clicks it carries."""

    __slots__ = ("_keys", "clicks", "data", "sender")

    def __init__(self, sender: str, data: bytes, clicks: int) -> None:
        self.sender, self.data, self.clicks = sender, data, clicks
        self._keys: frozenset | None = None

    @property
    def keys(self) -> frozenset[tuple[str, str]]:
        if self._keys is None:
            from reliability_load import click_identities

            self._keys = click_identities(self.sender, self.data)
        return self._keys


# Past this many, demo_bodies makes more single clicks as variants of the ones it has.
DISTINCT_BODIES = 20_000


def demo_bodies(clicks: int, seed: int, recent: float = 300) -> tuple[list, list[dict]]:
    """Single-click bodies in arrival order (a Woodpecker array is split into arrays of one, as
    Woodpecker sends a lone click), and the Woodpecker click items for the 100-click arrays,
    re-dated within the last `recent` seconds. Non-click events (leads, opens, shares) are
    left out: the runs measure clicks.

    The demo generator makes the first DISTINCT_BODIES; more are variants of those (a new
    click id, contact or prospect, re-dated), ~10x cheaper to make: the same shapes, sizes and
    visitors, each a new click."""
    from clicktrack.demo import demo_deliveries

    rng, now = random.Random(seed), datetime.now(UTC)
    singles: list[LazyBody] = []
    items: list[dict] = []
    seen: set[bytes] = set()
    for sender, data, count in demo_deliveries(min(clicks, DISTINCT_BODIES), 30, now, seed=seed):
        if data in seen or not count:  # the demo's own rare redeliveries; non-click events
            continue
        seen.add(data)
        payloads = json.loads(data)
        if sender == "woodpecker":
            items += [item for item in payloads if item.get("method") == "link_clicked"]
            payloads = [[item] for item in items[-count:]]
        for payload in payloads if sender == "woodpecker" else [payloads]:
            moment = now - timedelta(seconds=rng.uniform(0, recent))
            singles.append(LazyBody(sender, retime(sender, payload, moment), 1))
    templates = list(singles)
    for number in range(max(0, clicks - len(singles))):
        template = templates[number % len(templates)]
        payload = json.loads(template.data)
        _vary(template.sender, payload, f"v{seed}-{number}")
        moment = now - timedelta(seconds=rng.uniform(0, recent))
        singles.append(LazyBody(template.sender, retime(template.sender, payload, moment), 1))
    return singles, items


def _vary(sender: str, payload: object, tag: str) -> None:
    """Make a body's click a new one: what its sender's click identity is made of changes."""
    if sender in ("dub", "heyoo"):
        payload["data"]["click"]["id"] += f"-{tag}"
    elif sender == "opptima":
        payload["contactId"] = f"{payload.get('contactId') or 'c'}-{tag}"
    else:
        for item in payload:
            prospect = item["prospect"] = dict(item["prospect"])
            prospect["id"] = 10**13 + abs(hash(tag)) % 10**12  # an id of the same kind
            local, _, domain = prospect["email"].partition("@")
            prospect["email"] = f"{local}+{tag}@{domain}"


def woodpecker_arrays(items: list[dict], arrays: int, size: int, start: int = 0) -> list:
    """`arrays` bodies of `size` link_clicked items, each from a prospect of its own (a new id
    and e-mail address; campaign, link and time as in the item), as in a send to a large list:
    every click and contact is new. The demo has too few Woodpecker clicks, already posted as
    singles, so the items are reused this way. Keeping the demo's repeat visitors instead makes
    concurrent arrays share prospects, and then intake's contact upserts, taken in body order in
    one transaction, deadlock (PostgreSQL aborts one, the app answers 503): a finding for intake,
    not a cost of arrays. `start` is the first position: advancing starts never repeat a click."""
    from clicktrack.demo import escaped_json

    bodies = []
    for index in range(arrays):
        batch = []
        for position in range(start + index * size, start + (index + 1) * size):
            item = items[position % len(items)]
            prospect = dict(item["prospect"])
            prospect["id"] = 10**12 + position
            local, _, domain = prospect["email"].partition("@")
            prospect["email"] = f"{local}+{position}@{domain}"
            batch.append({**item, "prospect": prospect})
        bodies.append(LazyBody("woodpecker", escaped_json(batch), size))
    return bodies


def with_redeliveries(bodies: list, share: float, rng: random.Random) -> list:
    """The order bodies are posted in: about `share` of the slots repeat an earlier body, as a
    sender's retry after a timeout does."""
    sequence: list = []
    fresh = iter(bodies)
    while True:
        if sequence and rng.random() < share:
            sequence.append(rng.choice(sequence))
            continue
        body = next(fresh, None)
        if body is None:
            return sequence
        sequence.append(body)


def dub_variant(body: object, number: int, secret: str) -> tuple[bytes, dict[str, str]]:
    """A Dub body as a new click dated now (its id suffixed), re-signed: the freshness background
    stream needs more Dub clicks than the demo set holds."""
    payload = json.loads(body.data)
    payload["data"]["click"]["id"] += f"-{number}"
    data = retime("dub", payload, datetime.now(UTC))
    return data, headers_for("dub", secret, data)


@dataclass
class Sample:
    scheduled: float  # seconds into the run
    latency: float | None  # from the scheduled time (open loop: no coordinated omission)
    service: float | None  # from when the request actually started
    outcome: str  # "200", "429", "timeout", "reset"…
    answered: float | None = None  # seconds into the run
    delivery: int | None = None  # the delivery's id in PostgreSQL, from the 200's body
    spool_id: str | None = None  # or its id in the spool, when PostgreSQL was away


@dataclass
class OpenLoop:
    """Posts at a fixed rate whatever the answers: each request is due at start + k / rate and
    its latency is measured from that due time, so a slow server cannot slow the load down and
    hide its own queueing (coordinated omission)."""

    base_url: str
    connections: int = 128  # bounds open sockets; waiting for one counts in the latency
    timeout: float = 30.0
    cancel_on_stop: bool = False  # a background stream: drop what is still queued at the end
    samples: list[Sample] = field(default_factory=list)
    max_lag: float = 0.0  # how late the client itself launched a request
    # Past this many requests in flight, due requests are not sent but counted as failed
    # ("backlog"): an overloaded server would otherwise grow the client's queue without bound
    # until the client itself, not the server, sets the pace.
    max_outstanding: int = 1000
    outstanding_at_end: int = 0  # requests still unanswered when the schedule ended

    async def run(
        self, requests: Iterator[tuple[str, dict, bytes]], rate: float, stop: asyncio.Event
    ) -> None:
        """Sends until `requests` runs out or `stop` is set, then waits for the answers."""
        # Keep-alive, as wrk uses: both then measure intake, not TCP handshakes.
        connector = aiohttp.TCPConnector(limit=self.connections)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        tasks: set[asyncio.Task] = set()
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            start = time.monotonic()
            slot = 0
            while not stop.is_set():
                due = int((time.monotonic() - start) * rate) + 1
                self.max_lag = max(self.max_lag, time.monotonic() - start - slot / rate)
                for request in _take(requests, due - slot):
                    if len(tasks) >= self.max_outstanding:
                        self.samples.append(Sample(slot / rate, None, None, "backlog"))
                    else:
                        post = self._post(session, start, slot / rate, *request)
                        task = asyncio.create_task(post)
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    slot += 1
                if slot < due:  # requests exhausted
                    break
                await asyncio.sleep(max(0.0, start + slot / rate - time.monotonic()))
            self.outstanding_at_end = len(tasks)
            if tasks and self.cancel_on_stop:
                for task in list(tasks):
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            elif tasks:
                await asyncio.wait(tasks)

    def throughput(self) -> float:
        """200s per second, from the start to the last 200 (answers drain after the schedule)."""
        ok = [s.answered for s in self.samples if s.outcome == "200"]
        return round(len(ok) / max(ok), 1) if ok else 0.0

    def summary(self) -> dict[str, object]:
        # A request without an answer counts as the timeout: percentiles are then lower bounds
        # rather than figures of the lucky requests only.
        latencies = [self.timeout if s.latency is None else s.latency for s in self.samples]
        return {
            "requests": len(self.samples),
            "req_per_s": self.throughput(),
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
            "max_ms": percentile(latencies, 100),
            "non_200": dict(Counter(s.outcome for s in self.samples if s.outcome != "200")),
            "spooled": sum(1 for s in self.samples if s.spool_id),
            "outstanding_at_end": self.outstanding_at_end,
            "client_max_lag_ms": round(self.max_lag * 1000, 1),
            # When the slow answers came: a stall shows as a few seconds holding most of them.
            "over_50ms_by_second": dict(
                Counter(
                    int(s.scheduled)
                    for s, ms in zip(self.samples, latencies, strict=True)
                    if ms > 0.05
                ).most_common(8)
            ),
        }

    async def _post(
        self,
        session: aiohttp.ClientSession,
        start: float,
        due: float,
        path: str,
        headers: dict,
        data: bytes,
    ) -> None:
        began = time.monotonic()
        sample = Sample(due, None, None, "")
        try:
            async with session.post(self.base_url + path, data=data, headers=headers) as answer:
                content = await answer.read()
                now = time.monotonic()
                sample.latency, sample.service = now - start - due, now - began
                sample.answered = now - start
                sample.outcome = str(answer.status)
                if answer.status == 200:
                    summary = json.loads(content)
                    sample.delivery = summary["delivery"]
                    sample.spool_id = summary.get("spool_id")
        except TimeoutError:
            sample.outcome = "timeout"
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            sample.outcome = "reset"
        except aiohttp.ClientError as exc:
            sample.outcome = type(exc).__name__
        self.samples.append(sample)


def _take(iterator: Iterator, count: int) -> list:
    return [item for _, item in zip(range(max(0, count)), iterator, strict=False)]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0-100) of seconds, in ms."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index] * 1000, 1)


def per_request(used: dict[str, float], requests: int, load: str = "load") -> dict[str, object]:
    """CPU ms per request of the web server, PostgreSQL, the processing worker and the load
    generator; commits and WAL bytes per request."""
    n = max(requests, 1)
    return {
        "cpu_ms_per_request": {
            "server": round(used["server"] * 1000 / n, 2),
            "postgres": round(used["postgres"] * 1000 / n, 2),
            "worker": round(used["worker"] * 1000 / n, 2),
            load: round(used["load"] * 1000 / n, 2),
        },
        "commits_per_request": round(used["commits"] / n, 2),
        "wal_bytes_per_request": round(used["wal"] / n),
    }


def median_of(runs: list[dict], *fields: str) -> dict:
    """Medians over the rounds of `fields` (the first also listed per round); errors summed."""
    out = {}
    for name in fields:
        values = [r[name] for r in runs if r.get(name) is not None]
        out[name] = round(statistics.median(values), 1) if values else None
    non_200: Counter[str] = Counter()
    for run in runs:
        non_200.update(run.get("non_200", {}))
    out["non_200"] = dict(non_200)
    out["per_round"] = [r[fields[0]] for r in runs]
    return out


def ratio(app: list[dict], baseline: list[dict], field: str = "tps") -> float | None:
    """Median requests/s of `app` over the median `field` of `baseline` (pgbench's tps)."""
    a = statistics.median(r["req_per_s"] for r in app)
    b = statistics.median(r[field] for r in baseline if r[field])
    return round(a / b, 3) if b else None


@contextmanager
def processing_worker(
    env: dict[str, str], log_path: Path, connect: object, spool_path: Path
) -> Iterator["BenchWorker"]:
    """`manage.py run_worker` beside the web server while the block runs, as a deployment runs
    it (it also keeps the rollups fresh). Yields the worker with its backlog reader; stopped,
    SIGTERM then SIGKILL, in the end whatever happened."""
    worker = BenchWorker(env, log_path, Backlog(connect, spool_path, "analytics_delivery"))
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


class BenchWorker(Worker):
    """reliability_worker.Worker, plus the backlog it works through and a wait for it to empty."""

    def __init__(self, env: dict[str, str], log_path: Path, backlog: Backlog) -> None:
        super().__init__(env, log_path)
        self.backlog = backlog

    def ensure_running(self) -> None:
        if not self.alive:
            self.start()

    def drain(self, timeout: float = 300) -> float | None:
        """Seconds until nothing is queued or spooled (the worker started if stopped); None if
        the backlog is still there after `timeout`."""
        self.ensure_running()
        return self.backlog.wait_empty(timeout, every=0.1)

    def status(self) -> str:
        if self.alive:
            return "running"
        code = self.process.returncode if self.process else None
        return f"exited ({code}); see {self.log_path}"
