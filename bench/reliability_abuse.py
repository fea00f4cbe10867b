"""The abuse scenario: can one misbehaving client hurt the deliveries of a well-behaved sender?

A steady "good" stream (Heyoo, 20 deliveries/s, a connection per delivery, no retries) runs
throughout while, phase by phase: nothing else (baseline); a flood of signed Dub deliveries over
a few keep-alive connections, then the same unsigned; 40 POSTs of 5 MiB bodies, half with
Content-Length and half chunked; then clients that send headers and trickle the body at 1 byte/s,
first half of gunicorn's thread slots, then all of them plus 4. Latency and errors of the good
stream are recorded per phase, by the phase in which each request was sent.

gunicorn runs with the settings' defaults, so WEBHOOK_RATE_LIMIT is 0: an authenticated sender
is never refused (senders disable receivers that answer 429), and the signed flood must be
answered 200 throughout; the unsigned one gets 401s. The processing worker runs beside gunicorn,
as in the other scenarios, so the flood's deliveries are processed while the good stream goes on.
"""

import argparse
import asyncio
import itertools
import os
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import psutil
from reliability_infra import Gunicorn, ScratchPostgres, app_env, log_summary, prepare_database
from reliability_load import percentile
from reliability_worker import WORKER_MARKERS, Worker, count_markers

from analytics.senders import SENDERS
from analytics.senders.spec import sign
from clicktrack.demo import demo_deliveries

GOOD_RATE = 20.0  # deliveries per second of the well-behaved sender
GOOD_TIMEOUT = 10.0  # seconds: an answer later than this counts as an error of the good stream
FLOOD_CONNECTIONS = 8
HUGE_BYTES = 5 * 1024 * 1024  # five times WEBHOOK_MAX_BODY_BYTES' default
HUGE_EACH = 20  # requests with Content-Length, and as many chunked
HUGE_QUICK_S = 5.0  # "quickly": every 413 within this
RSS_GROWTH_MAX_MIB = 64  # 40 buffered 5 MiB bodies would be 200 MiB
SLOW_DECLARED = 4096  # Content-Length the slow clients announce and never finish
MIB = 1024 * 1024


class GoodStream:
    """Open-loop Heyoo deliveries; each answer is filed under the phase its request was sent in."""

    def __init__(self, base_url: str, path: str, secret: str, bodies: Iterator[bytes]) -> None:
        self.url, self.secret, self.bodies = base_url + path, secret, bodies
        self.header = SENDERS["heyoo"].signature_header()
        self.phase = "baseline"
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, Counter] = defaultdict(Counter)
        self.stop = asyncio.Event()

    async def run(self) -> None:
        # A connection per delivery, as independent senders make them; the timeout is the
        # whole attempt, so a request stuck behind a slow client shows up as an error.
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        timeout = aiohttp.ClientTimeout(total=GOOD_TIMEOUT)
        tasks: set[asyncio.Future] = set()
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            start, sent = time.monotonic(), 0
            while not self.stop.is_set():
                task = asyncio.ensure_future(self._deliver(session, self.phase))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
                await asyncio.sleep(max(0.0, start + sent / GOOD_RATE - time.monotonic()))
            if tasks:
                await asyncio.wait(tasks)

    async def _deliver(self, session: aiohttp.ClientSession, phase: str) -> None:
        body = next(self.bodies)
        headers = {"Content-Type": "application/json", self.header: sign(self.secret, body)}
        began = time.monotonic()
        try:
            async with session.post(self.url, data=body, headers=headers) as response:
                await response.read()
                outcome = str(response.status)
        except TimeoutError:
            outcome = "timeout"
        except aiohttp.ClientError as exc:
            outcome = type(exc).__name__
        self.outcomes[phase][outcome] += 1
        if outcome[0].isdigit():
            self.latencies[phase].append(time.monotonic() - began)

    def figures(self, phase: str) -> dict[str, object]:
        outcomes, latencies = self.outcomes[phase], self.latencies[phase]
        return {
            "sent": sum(outcomes.values()),
            "responses": dict(outcomes.most_common()),
            "errors": sum(n for outcome, n in outcomes.items() if outcome != "200"),
            "p50_ms": _ms(percentile(latencies, 0.50)),
            "p99_ms": _ms(percentile(latencies, 0.99)),
            "max_ms": _ms(max(latencies, default=None)),
        }


async def flood(
    base_url: str, path: str, secret: str, body: bytes, seconds: float, signed: bool
) -> dict:
    """As fast as FLOOD_CONNECTIONS keep-alive connections allow: every answer awaited, resent.
    Signed: valid deliveries, each accepted (200) and queued for the worker; unsigned: 401s."""
    signature = sign(secret, body) if signed else "0" * 64
    headers = {"Content-Type": "application/json", "Dub-Signature": signature}
    outcomes: Counter[str] = Counter()
    missing_retry_after = 0
    deadline = time.monotonic() + seconds

    async def connection(session: aiohttp.ClientSession) -> None:
        nonlocal missing_retry_after
        while time.monotonic() < deadline:
            try:
                async with session.post(base_url + path, data=body, headers=headers) as response:
                    await response.read()
                    outcomes[str(response.status)] += 1
                    if response.status == 429 and not response.headers.get("Retry-After"):
                        missing_retry_after += 1
            except (TimeoutError, aiohttp.ClientError) as exc:
                outcomes[type(exc).__name__] += 1

    connector = aiohttp.TCPConnector(limit=FLOOD_CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(30)) as s:
        await asyncio.gather(*(connection(s) for _ in range(FLOOD_CONNECTIONS)))
    return {
        "connections": FLOOD_CONNECTIONS,
        "responses": dict(outcomes.most_common()),
        "per_second": round(sum(outcomes.values()) / seconds, 1),
        "ok_per_second": round(outcomes["200"] / seconds, 1),
        "429_without_retry_after": missing_retry_after,
    }


async def huge_post(port: int, path: str, chunked: bool) -> tuple[str, float, int]:
    """One 5 MiB POST on a raw socket: the body is written while the answer is awaited, so an
    early 413 is seen even though the body is still being sent. (status, seconds, bytes sent).
    Plain socket calls, not asyncio streams: a stream reader re-raises the writer's EPIPE before
    the answer already received, which would hide the 413 the server sent before closing."""
    loop = asyncio.get_running_loop()
    began, sent = time.monotonic(), 0
    sock = socket.socket()
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {HUGE_BYTES}\r\n"
    await loop.sock_sendall(sock, head.encode() + b"Connection: close\r\n\r\n")

    async def send_body() -> None:
        nonlocal sent
        chunk = b"x" * 65536
        try:
            for _ in range(HUGE_BYTES // len(chunk)):
                await loop.sock_sendall(
                    sock, b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk
                )
                sent += len(chunk)
            if chunked:
                await loop.sock_sendall(sock, b"0\r\n\r\n")
        except OSError:  # the server answered and closed: expected, the answer is what counts
            pass

    sending = asyncio.ensure_future(send_body())
    try:
        first = await asyncio.wait_for(loop.sock_recv(sock, 4096), 30)
        outcome = first.split()[1].decode() if first else "closed"
    except TimeoutError:
        outcome = "timeout"
    except ConnectionError as exc:  # reset before any answer arrived
        outcome = type(exc).__name__
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        sock.close()
    return outcome, time.monotonic() - began, sent


class RssSampler(threading.Thread):
    """The workers' summed RSS every 50 ms, so a short-lived peak is not missed."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.processes = [psutil.Process(pid) for pid in pids]
        self.peak = self.sample()
        self.done = threading.Event()

    def sample(self) -> int:
        return sum(p.memory_info().rss for p in self.processes if p.is_running())

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, self.sample())


async def huge(port: int, path: str, pids: list[int]) -> dict:
    sampler = RssSampler(pids)
    before = sampler.sample()
    sampler.start()
    posts = [huge_post(port, path, chunked) for chunked in (False, True) for _ in range(HUGE_EACH)]
    answers = await asyncio.gather(*posts)
    await asyncio.sleep(1)  # let the workers settle before the "after" figure
    sampler.done.set()
    sampler.join()
    after = sampler.sample()
    by_kind = {"content_length": answers[:HUGE_EACH], "chunked": answers[HUGE_EACH:]}
    return {
        kind: {
            "responses": dict(Counter(outcome for outcome, _, _ in rows).most_common()),
            "max_seconds": round(max(seconds for _, seconds, _ in rows), 2),
            "max_mib_sent_before_answer": round(max(sent for _, _, sent in rows) / MIB, 2),
        }
        for kind, rows in by_kind.items()
    } | {
        "worker_rss_mib": {
            "before": round(before / MIB, 1),
            "peak": round(sampler.peak / MIB, 1),
            "after": round(after / MIB, 1),
        }
    }


async def slow_client(
    port: int, path: str, stop: asyncio.Event, seen: Counter, own_ports: set[int]
) -> None:
    """Headers, then the body at 1 byte a second until told to stop; notes what the server did."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    own_ports.add(writer.get_extra_info("sockname")[1])
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    writer.write(head.encode() + f"Content-Length: {SLOW_DECLARED}\r\n\r\n".encode())
    answer = asyncio.ensure_future(reader.readline())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set() and not answer.done():
            writer.write(b" ")
            await writer.drain()
            await asyncio.wait([answer, stopped], timeout=1.0, return_when="FIRST_COMPLETED")
        line = answer.result() if answer.done() else b""
        seen["answered " + line.split()[1].decode() if line else "held until we stopped"] += 1
    except ConnectionError:
        seen["reset by the server"] += 1
    finally:
        answer.cancel()
        stopped.cancel()
        writer.close()


async def slow(port: int, path: str, clients: int, seconds: float, pids: list[int]) -> dict:
    stop, seen, own_ports = asyncio.Event(), Counter(), set()
    tasks = [
        asyncio.ensure_future(slow_client(port, path, stop, seen, own_ports))
        for _ in range(clients)
    ]
    await asyncio.sleep(2)
    # Which worker accepted each slow client: the accept is a race between the workers, so
    # they rarely spread evenly, and a worker with >= 4 of them has no thread left.
    per_worker = [_connections_from(pid, own_ports) for pid in pids]
    await asyncio.sleep(seconds - 2)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "clients": clients,
        "seconds": seconds,
        "slow_clients": dict(seen),
        "slow_clients_per_worker": per_worker,
    }


def _connections_from(pid: int, ports: set[int]) -> int:
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return -1
    return sum(1 for c in conns if c.raddr and c.raddr.port in ports)


def heyoo_bodies(seed: int) -> Iterator[bytes]:
    """Distinct Heyoo bodies from the demo generator, cycled if the run outlasts them."""
    now = datetime.now(UTC)
    deliveries = demo_deliveries(12000, 30, now, seed)
    bodies = [data for sender, data, _ in deliveries if sender == "heyoo"]
    return itertools.cycle(list(dict.fromkeys(bodies)))


async def drive(gunicorn: Gunicorn, endpoints: dict, args: argparse.Namespace) -> dict:
    phase_s = 6.0 if args.quick else 15.0
    slow_s = 10.0 if args.quick else 20.0
    slots = gunicorn.workers * gunicorn.THREADS
    url, port = gunicorn.base_url, gunicorn.port
    good = GoodStream(url, *endpoints["heyoo"], heyoo_bodies(args.seed))
    running = asyncio.ensure_future(good.run())
    # The load average shows whether something else shared the box during the run.
    figures: dict = {"thread_slots": slots, "phase_seconds": phase_s}
    figures["load_average_before"] = [round(x, 1) for x in os.getloadavg()]

    async def phase(name: str, work: Awaitable | None = None, seconds: float = 0.0) -> object:
        good.phase = name
        print(f"  abuse: {name}", flush=True)
        result = await work if work is not None else await asyncio.sleep(seconds)
        good.phase = "between"  # settling time is nobody's phase
        await asyncio.sleep(3)
        return result

    dub_path, dub_secret = endpoints["dub"]
    # A real click (the demo opens with Dub's test event, which counts none).
    dub_body = next(
        d for s, d, n in demo_deliveries(50, 30, datetime.now(UTC), 1) if s == "dub" and n
    )
    await phase("baseline", seconds=phase_s)
    # With no rate limit (the default) the signed flood is accepted as fast as it comes; the
    # worker processes it meanwhile. Unsigned requests are refused (401) before anything else.
    for name, signed in (("flood", True), ("flood_unsigned", False)):
        work = flood(url, dub_path, dub_secret, dub_body, phase_s, signed)
        figures[name] = await phase(name, work)
    # Opptima's endpoint: the size is checked before authentication, so no credentials are
    # needed for a 413.
    pids = gunicorn.worker_pids()
    figures["huge"] = await phase("huge", huge(port, endpoints["opptima"][0], pids))
    for name, clients in (("slow_half", slots // 2), ("slow_over", slots + 4)):
        work = slow(port, endpoints["woodpecker"][0], clients, slow_s, pids)
        figures[name] = await phase(name, work)
    await phase("after", seconds=phase_s)
    good.stop.set()
    await running
    phases = ("baseline", "flood", "flood_unsigned", "huge", "slow_half", "slow_over", "after")
    figures["good_stream"] = {name: good.figures(name) for name in phases}
    figures["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
    return figures


def run_abuse(pg: ScratchPostgres, args: argparse.Namespace, work_dir: Path) -> dict:
    print("\n== abuse: flood, huge bodies and slow bodies beside a 20/s good stream", flush=True)
    database = "reliability_abuse"
    pg.create_database(database)
    extra_env = {"WEBHOOK_SPOOL_PATH": str(work_dir / "spool-abuse.sqlite3")}
    env = app_env(pg.url(database)) | extra_env
    endpoints = prepare_database(env)
    log_path = work_dir / "gunicorn-abuse.log"
    gunicorn = Gunicorn(env, log_path, workers=4)  # README's deployment: 4 workers, 4 threads each
    worker = Worker(env, work_dir / "worker-abuse.log")
    try:
        gunicorn.start(endpoints["woodpecker"][0])
        worker.start()
        workers_before = gunicorn.worker_pids()
        figures = asyncio.run(drive(gunicorn, endpoints, args))
        workers_after = gunicorn.worker_pids()
        worker_alive = worker.alive
    finally:
        worker_exit = worker.stop()
        gunicorn.stop()
    figures = {"scenario": "abuse", "gunicorn_env": extra_env} | figures
    figures["gunicorn_workers"] = {"before": workers_before, "after": workers_after}
    figures["processing_worker"] = {
        "alive_at_the_end": worker_alive,
        "exit_status_on_sigterm": worker_exit,
        "log": count_markers(worker.log_path, WORKER_MARKERS),
    }
    figures["gunicorn_log"] = log_summary(log_path)
    figures["checks"] = checks(figures)
    return figures


def checks(f: dict) -> dict[str, bool]:
    good, huge_ = f["good_stream"], f["huge"]
    all_413 = Counter({"413": HUGE_EACH})
    all_411 = Counter({"411": HUGE_EACH})
    rss = huge_["worker_rss_mib"]
    slowest = max(huge_["content_length"]["max_seconds"], huge_["chunked"]["max_seconds"])
    return {
        "baseline: good stream errors == 0": good["baseline"]["errors"] == 0,
        # No rate limit by default: an authenticated sender, however fast, is never refused.
        "flood (signed): every delivery answered 200, none refused": set(f["flood"]["responses"])
        == {"200"},
        "flood_unsigned: all 401": set(f["flood_unsigned"]["responses"]) == {"401"},
        "flood: good stream errors == 0": good["flood"]["errors"] == 0
        and good["flood_unsigned"]["errors"] == 0,
        "huge (Content-Length): all 413": huge_["content_length"]["responses"] == all_413,
        "huge (chunked): all 411 Length Required": huge_["chunked"]["responses"] == all_411,
        f"huge: every answer within {HUGE_QUICK_S:.0f} s": slowest <= HUGE_QUICK_S,
        f"huge: worker RSS peak < before + {RSS_GROWTH_MAX_MIB} MiB": rss["peak"]
        < rss["before"] + RSS_GROWTH_MAX_MIB,
        "huge: good stream errors == 0": good["huge"]["errors"] == 0,
        "after: good stream errors == 0": good["after"]["errors"] == 0,
        "same gunicorn workers (no restart)": f["gunicorn_workers"]["before"]
        == f["gunicorn_workers"]["after"],
        "processing worker ran throughout and stopped cleanly": f["processing_worker"][
            "alive_at_the_end"
        ]
        and f["processing_worker"]["exit_status_on_sigterm"] == 0,
    }


def report(f: dict) -> None:
    slots = f["thread_slots"]
    print(f"\nabuse: good stream (Heyoo {GOOD_RATE:g}/s) by phase; {slots} thread slots")
    print(f"  {'phase':14} {'sent':>5} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8}  responses")
    for name, g in f["good_stream"].items():
        answers = " ".join(f"{k}:{v}" for k, v in g["responses"].items())
        print(f"  {name:14} {g['sent']:5} {g['errors']:6} {g['p50_ms']!s:>8} {g['p99_ms']!s:>8}"
              f"  {answers}")  # fmt: skip
    hu = f["huge"]
    for name in ("flood", "flood_unsigned"):
        fl = f[name]
        print(f"  {name}: {fl['responses']} ({fl['per_second']}/s, 200s {fl['ok_per_second']}/s)")
    for kind in ("content_length", "chunked"):
        print(f"  huge {kind}: {hu[kind]}")
    print(f"  huge: worker RSS MiB {hu['worker_rss_mib']}")
    for name in ("slow_half", "slow_over"):
        sl = f[name]
        print(f"  {name}: {sl['clients']} clients: {sl['slow_clients']}; per worker (after 2 s)"
              f" {sl['slow_clients_per_worker']}")  # fmt: skip
    print(f"  processing worker: {f['processing_worker']}")
    print(f"  load average before / after: {f['load_average_before']} / "
          f"{f['load_average_after']}")  # fmt: skip
    for name, ok in f["checks"].items():
        print(f"  [{'ok' if ok else 'FAIL'}] abuse: {name}")


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)
