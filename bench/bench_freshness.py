"""Freshness: how long after a webhook's 200 its click shows in the stats API.

The web server only accepts a delivery; the processing worker (`manage.py run_worker`, running
beside it as in a deployment) turns it into a click, and the stats API counts it from then on
(queued rollup updates included). So the delay measured is the worker's: picking the delivery up
(it polls every 0.1 s when idle), its batch, and one stats request.

A probe posts one fresh Opptima click dated now, and from its 200 on polls
GET /api/stats/summary/?range=24h&bots=include&sender=opptima (token auth) every POLL seconds
until `current.clicks` exceeds what it was just before the post; the delay is from the 200 to
the answer that shows it, so it includes one poll's duration (reported). Probes run one after
the other with a random pause between them, so they do not fall into step with the worker's
polling or its rollup updates (every second).

Twice: on a quiet server, and while a background stream of BACKGROUND_RATE Dub webhooks per
second (open loop, clicks dated now) runs. The probes use another sender, Opptima, and the
summary is filtered to it, so the stream does not move the count the probes watch. When the box
cannot take the stream, webhooks and polls queue and the delays say so (with the stream's achieved
rate beside them); a scenario then stops after MAX_SECONDS with fewer probes.
"""

import asyncio
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from intake_common import (
    Endpoints,
    OpenLoop,
    demo_bodies,
    dub_variant,
    headers_for,
    percentile,
    processing_worker,
    retime,
    setup_django,
)
from reliability_infra import AppServer

PROBES = int(os.environ.get("BENCH_FRESHNESS_PROBES") or 50)
MAX_SECONDS = 150.0  # per scenario: an overloaded server makes every poll wait in its queue
POLL = 0.02
PROBE_TIMEOUT = 30.0  # a click not visible by then counts as not seen
BACKGROUND_RATE = float(os.environ.get("BENCH_FRESHNESS_RATE") or 500)
SUMMARY = "/api/stats/summary/?range=24h&bots=include&sender=opptima"
SEED = 2612


def run_freshness(
    server: AppServer,
    env: dict[str, str],
    endpoints: Endpoints,
    token: str,
    work_dir: Path,
    connect: Callable[[], object],
) -> dict[str, object]:
    """`connect`: a new psycopg connection to the bench database (the worker's backlog)."""
    setup_django(env["DATABASE_URL"], env.get("WEBHOOK_SPOOL_PATH"))
    bodies, _ = demo_bodies(3000, SEED)
    opptima = [b for b in bodies if b.sender == "opptima"]
    dub = [b for b in bodies if b.sender == "dub"]
    results: dict[str, object] = {"probes": PROBES, "poll_ms": POLL * 1000}
    results["server"] = server.describe()
    spool = Path(env["WEBHOOK_SPOOL_PATH"])
    log = work_dir / "run_worker-freshness.log"
    with processing_worker(env, log, connect, spool) as worker:
        worker.drain(300)
        for scenario, rate in (("quiet", 0.0), ("background", BACKGROUND_RATE)):
            probe = _Probe(server.base_url, endpoints["opptima"], token, opptima, scenario)
            results[scenario] = asyncio.run(
                _scenario(probe, server.base_url, _stream(dub, endpoints["dub"]), rate)
            )
            figures = results[scenario]
            print(f"  {scenario}: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, max "
                  f"{figures['max_ms']} ms, not seen {figures['not_seen']}"
                  + (f"; background {figures['background']['req_per_s']}/s" if rate else ""),
                  flush=True)  # fmt: skip
        results["worker"] = worker.status()
    return results


def _stream(dub: list, endpoint: tuple[str, str]) -> Iterator[tuple[str, dict, bytes]]:
    """Endless new Dub clicks dated now: the demo bodies again and again, each time as new."""
    path, secret = endpoint
    number = 0
    while True:
        for body in dub:
            number += 1
            data, headers = dub_variant(body, number, secret)
            yield path, headers, data


async def _scenario(
    probe: "_Probe", base_url: str, stream: Iterator[tuple[str, dict, bytes]], rate: float
) -> dict[str, object]:
    stop = asyncio.Event()
    # 32 connections: the server's queue, which the probe's polls wait in, stays that long at
    # most when the stream is more than the box can take; the stream's own latency counts from
    # its schedule whatever the connection count.
    background = OpenLoop(base_url, 32, timeout=60, cancel_on_stop=True, max_outstanding=400)
    loader = asyncio.create_task(background.run(stream, rate, stop)) if rate else None
    try:
        if loader:
            await asyncio.sleep(3)  # let the stream reach its rate before measuring
        figures = await probe.run()
    finally:
        stop.set()
        if loader:
            await loader
    if loader:
        figures["background"] = {"rate": rate, **background.summary()}
    return figures


class _Probe:
    def __init__(
        self, base_url: str, endpoint: tuple[str, str], token: str, templates: list, name: str
    ) -> None:
        self.base_url, self.endpoint, self.token = base_url, endpoint, token
        self.templates, self.name = templates, name
        self.rng = random.Random(f"{SEED}-{name}")

    async def run(self) -> dict[str, object]:
        delays: list[float] = []
        polls: list[float] = []
        posts: list[float] = []
        not_seen = 0
        auth = {"Authorization": f"Token {self.token}"}
        async with (
            aiohttp.ClientSession() as hooks,
            aiohttp.ClientSession(headers=auth) as api,
        ):
            deadline = time.monotonic() + MAX_SECONDS
            for number in range(PROBES):
                if time.monotonic() > deadline:
                    break
                before, _ = await self._clicks(api)
                sent = time.monotonic()
                acknowledged = await self._post(hooks, number)
                posts.append(acknowledged - sent)
                while True:
                    asked = time.monotonic()
                    clicks, took = await self._clicks(api)
                    polls.append(took)
                    if clicks > before:
                        delays.append(time.monotonic() - acknowledged)
                        break
                    if time.monotonic() - acknowledged > PROBE_TIMEOUT:
                        not_seen += 1
                        break
                    await asyncio.sleep(max(0.0, asked + POLL - time.monotonic()))
                await asyncio.sleep(self.rng.uniform(0.05, 1.0))
        return {
            "seen": len(delays),
            "not_seen": not_seen,
            "p50_ms": percentile(delays, 50),
            "p95_ms": percentile(delays, 95),
            "max_ms": percentile(delays, 100),
            "poll_p50_ms": percentile(polls, 50),  # one poll's own time: the delay's resolution
            "probe_webhook_p50_ms": percentile(posts, 50),
        }

    async def _clicks(self, api: aiohttp.ClientSession) -> tuple[int, float]:
        began = time.monotonic()
        async with api.get(self.base_url + SUMMARY) as answer:
            if answer.status != 200:
                raise RuntimeError(f"stats summary answered {answer.status}")
            summary = await answer.json()
        return summary["current"]["clicks"], time.monotonic() - began

    async def _post(self, hooks: aiohttp.ClientSession, number: int) -> float:
        """One new Opptima click dated now; the moment its 200 arrived."""
        path, secret = self.endpoint
        template = self.templates[number % len(self.templates)]
        payload = json.loads(template.data)
        payload["contactId"] = f"fresh-{self.name}-{number}-{self.rng.randrange(10**9)}"
        data = retime("opptima", payload, datetime.now(UTC))
        headers = headers_for("opptima", secret, data)
        async with hooks.post(self.base_url + path, data=data, headers=headers) as answer:
            summary = await answer.json()
            if answer.status != 200 or summary.get("status") != "received":
                raise RuntimeError(f"probe webhook answered {answer.status}: {summary}")
        return time.monotonic()


def summary_lines(freshness: dict | None) -> list[str]:
    """The freshness part of run.py's summary."""
    if not freshness:
        return []
    quiet, busy = freshness["quiet"], freshness["background"]
    stream = busy["background"]
    met = busy["p95_ms"] is not None and busy["p95_ms"] <= 2000 and not busy["not_seen"]
    return [
        f"\nfreshness, webhook 200 -> stats API ({freshness['probes']} probes, polls every "
        f"{freshness['poll_ms']:g} ms; {freshness.get('server')}, worker "
        f"{freshness.get('worker')}):",
        f"  quiet, {quiet['seen']} probes: p50 {quiet['p50_ms']} ms, p95 {quiet['p95_ms']} ms, "
        f"max {quiet['max_ms']} ms, not seen {quiet['not_seen']}",
        f"  with {stream['rate']:g}/s Dub webhooks, {busy['seen']} probes: p50 "
        f"{busy['p50_ms']} ms, p95 {busy['p95_ms']} ms, max {busy['max_ms']} ms, not seen "
        f"{busy['not_seen']}; the stream "
        f"got {stream['req_per_s']}/s, p99 {stream['p99_ms']} ms, non-200 "
        f"{stream['non_200'] or 0}   (p95 <= 2 s: "
        f"{'met' if met else 'MISSED'})",
    ]
