"""Webhook acceptance and processing: throughput and latency, with PostgreSQL's own rate beside it.

The web server only accepts a delivery (authenticate, one INSERT of the raw body, answer 200);
the processing worker (`manage.py run_worker`, beside it as in a deployment) turns queued
deliveries into clicks in batches. App, PostgreSQL, worker and load generator share the machine,
as on a small deployment. Bodies are the four senders' real shapes (clicktrack.demo), signed as
the senders sign them, posted in an order where ~10% of the slots repeat an earlier body (a
sender's redelivery). wrk is the closed-loop client (C, epoll, bench/intake.lua): the fastest
available here, so the rate measured is the server's, not the client's; its latencies are
service times at saturation. Per round, each part measuring one thing alone:

1. singles: wrk, CONNECTIONS keep-alive connections for SECONDS, the worker stopped (acceptance
   alone, as pgbench in 3 runs); then the worker started on that backlog and timed until the
   queue is empty. Its rate is taken between its batches' commits (processed_at of the first
   and last batch; the rollup updates it interleaves every second included), so process
   start-up does not count; the wall time from start to empty queue is reported beside it.
2. Woodpecker arrays of 100 clicks (every click new): a fixed set of ARRAYS posted once with
   the worker stopped (requests/s and clicks/s), then processed by the worker alone, the same
   way.
3. pgbench with the same client count: the statements the view sends to accept one webhook,
   captured from the app at run time (bench/pgbench_intake.py), straight to PostgreSQL, the
   worker stopped (its rows are deleted afterwards). app/pgbench = how much of PostgreSQL's
   rate the app's acceptance delivers.
4. the floor: the same requests as round's singles, posted the same way to bench/floor_app.py,
   the least a Python receiver does per delivery (read, parse, the same INSERT, answer; no
   authentication), served by the same server with the same workers and threads, the worker
   stopped (its rows are deleted afterwards). floor/pgbench is what Python and the web server
   leave of PostgreSQL's rate on this box before any of the app's own work; app/floor how close
   the app comes to that.

After the rounds, as deployed, the worker running beside the server: singles again, closed loop
(what the box accepts when processing takes its share of the CPU, and the queue left at the end);
then single clicks at a fixed OPEN_RATE/s for OPEN_SECONDS, open loop (aiohttp; wrk2 is not
packaged and wrk's delay() would only add think time, still closed loop): each request is due
at start + k / rate and its latency counts from that due time, so a server falling behind shows
its whole queue (no coordinated omission). 128 keep-alive connections at most; waiting for one
counts, and a request never answered counts as the 30 s timeout. The backlog: requests still
unanswered when the schedule ended, and the deliveries queued for the worker (sampled every
second, and at the end).

Then, once the worker has emptied the queue, every click must be accounted for: the clicks of
every delivery answered 200 (identities computed here from the bodies, not by the server) must
be stored, once; nothing else may be; no delivery may be left queued or failed, and the clicks
the deliveries say they created must be the clicks stored. Reported per run: requests/s,
p50/p99, non-200 answers, CPU ms per request (web server, PostgreSQL, worker, load generator),
commits and WAL bytes per request; medians over ROUNDS rounds.
"""

import asyncio
import hashlib
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

from intake_common import (
    BenchWorker,
    Endpoints,
    LazyBody,
    OpenLoop,
    demo_bodies,
    headers_for,
    median_of,
    per_request,
    percentile,
    processing_worker,
    ratio,
    setup_django,
    with_redeliveries,
    woodpecker_arrays,
)
from pgbench_intake import REDELIVERY, capture, run_pgbench
from reliability_infra import AppServer, ScratchPostgres, cpu_seconds

SECONDS = float(os.environ.get("BENCH_INTAKE_SECONDS") or 20)
CONNECTIONS = int(os.environ.get("BENCH_INTAKE_CONNECTIONS") or 16)
ROUNDS = int(os.environ.get("BENCH_INTAKE_ROUNDS") or 3)
OPEN_RATE = float(os.environ.get("BENCH_OPEN_RATE") or 500)
OPEN_SECONDS = float(os.environ.get("BENCH_OPEN_SECONDS") or 60)
# Woodpecker arrays posted per round (each once), then processed by the worker: a fixed set,
# so the drain that follows takes a bounded time (~20 s at 5,000 clicks/s).
ARRAYS = int(os.environ.get("BENCH_ARRAYS") or 1000)
DRAIN_TIMEOUT = 300.0
ARRAY_SIZE = 100
WRK_THREADS = 2
BENCH_DIR = Path(__file__).resolve().parent
LUA = BENCH_DIR / "intake.lua"
SEED = 2611


def run_intake(
    server: AppServer,
    pg: ScratchPostgres,
    database: str,
    env: dict[str, str],
    endpoints: Endpoints,
    work_dir: Path,
) -> dict[str, object]:
    if shutil.which("wrk") is None:
        print("intake: skipped, wrk is missing; install wrk: apt-get install wrk", flush=True)
        return {"skipped": "wrk not installed (apt-get install wrk)"}
    setup_django(env["DATABASE_URL"], env.get("WEBHOOK_SPOOL_PATH"))
    bench = IntakeBench(server, pg, database, endpoints, work_dir)
    results: dict[str, object] = {
        "server": server.describe(),
        "rounds": ROUNDS,
        "seconds": SECONDS,
        "connections": CONNECTIONS,
    }
    spool = Path(env["WEBHOOK_SPOOL_PATH"])
    log = work_dir / "run_worker-intake.log"
    with processing_worker(env, log, lambda: pg.connect(database), spool) as worker:
        bench.worker = worker
        if worker.drain(DRAIN_TIMEOUT) is None:  # what the set-up queued (none, normally)
            raise RuntimeError(f"the worker did not empty the queue; see {log}")
        bench.watermarks = bench.marks()
        results |= bench.rounds()
        results["singles_beside_worker"] = bench.singles_beside_worker()
        results["open_loop"] = bench.open_loop()
        print("  waiting for the worker to empty the queue", flush=True)
        results["final_drain_seconds"] = _rounded(worker.drain(DRAIN_TIMEOUT))
        results["worker"] = worker.status()
    print("  checking every acknowledged click is stored once", flush=True)
    results["accounting"] = bench.verify()
    return results


class IntakeBench:
    def __init__(
        self,
        server: AppServer,
        pg: ScratchPostgres,
        database: str,
        endpoints: Endpoints,
        work_dir: Path,
    ) -> None:
        self.server, self.pg, self.database = server, pg, database
        self.endpoints, self.work_dir = endpoints, work_dir
        self.worker: BenchWorker
        self.rng = random.Random(SEED)
        self.watermarks = (0, 0)
        self.sent: dict[str, LazyBody] = {}  # md5 of every body posted -> the body
        self.answered: list[int] = []  # delivery ids answered 200
        self.spooled: list[str] = []  # spool ids answered 200 (PostgreSQL away: none expected)
        self.array_position = 0  # Woodpecker items used so far: each array click is new
        self.singles: list = []
        self.closed_bodies = 0
        self.arrays_seconds = SECONDS
        self.captured: dict[str, list[str]] = {}
        self.floor: AppServer | None = None

    def marks(self) -> tuple[int, int]:
        with self.pg.connect(self.database) as conn:
            return conn.execute(
                "SELECT (SELECT coalesce(max(id), 0) FROM analytics_click),"
                " (SELECT coalesce(max(id), 0) FROM analytics_delivery)"
            ).fetchone()

    def rounds(self) -> dict[str, object]:
        # Calibration: a short run sizes the body sets, so a faster app never runs out of fresh
        # bodies (wrk would start over: redeliveries, which the worker finds cheaper) and a slow
        # one does not wait for a generator making bodies it will never post.
        print("  warm-up and calibration (demo bodies)", flush=True)
        warm, items = demo_bodies(1500, SEED)
        single_rate = self.wrk("warm-up", warm, 5)["req_per_s"]
        warm_arrays = woodpecker_arrays(items, 40, ARRAY_SIZE)
        self.array_position = 40 * ARRAY_SIZE
        array_rate = self.wrk("warm-up arrays", warm_arrays, 3)["req_per_s"]
        # wrk runs its whole -d even when the set is posted: a bound of 3x the warm-up's time.
        self.arrays_seconds = min(SECONDS, max(3.0, 3 * ARRAYS / max(array_rate, 1.0)))
        self.worker.drain(DRAIN_TIMEOUT)
        samples: dict[str, bytes] = {}
        for body in warm:  # a single-click body of each sender, already posted in the warm-up
            samples.setdefault(body.sender, body.data)
        self.captured = capture(self.endpoints, samples)
        # Generous: the box is shared, and a round may well run twice as fast as the warm-up.
        closed_bodies = int(max(single_rate * 2.5, 150) * SECONDS)
        wanted = closed_bodies * (ROUNDS + 1) + int(OPEN_RATE * OPEN_SECONDS)
        self.closed_bodies = closed_bodies
        print(f"  warm-up: {single_rate:.0f} singles/s, {array_rate:.1f} arrays/s; generating "
              f"{wanted:,} demo clicks", flush=True)  # fmt: skip
        singles, more_items = demo_bodies(wanted, SEED + 1)
        items += more_items
        runs: dict[str, list] = {"singles": [], "arrays": [], "pgbench": [], "floor": []}
        mix: Counter[str] = Counter()
        try:
            for round_ in range(ROUNDS):
                print(f"  round {round_ + 1}/{ROUNDS}", flush=True)
                closed = cut(singles, closed_bodies)
                mix.update(body.sender for body in closed)
                runs["singles"].append(self._singles(closed))
                arrays = woodpecker_arrays(items, ARRAYS, ARRAY_SIZE, self.array_position)
                self.array_position += ARRAYS * ARRAY_SIZE
                runs["arrays"].append(self._arrays(arrays))
                runs["pgbench"].append(self._pgbench(mix))
                runs["floor"].append(self._floor(closed))
        finally:
            if self.floor is not None:
                self.floor.stop()
        self.singles = singles  # what is left, for the runs with the worker alongside
        return {
            "single_clicks": median_of(
                runs["singles"],
                "req_per_s",
                "p50_ms",
                "p99_ms",
                "worker_deliveries_per_s",
                "drain_wall_seconds",
            ),
            "arrays_100": median_of(
                runs["arrays"],
                "clicks_per_s",
                "req_per_s",
                "p50_ms",
                "p99_ms",
                "worker_clicks_per_s",
                "worker_created_per_s",
                "drain_wall_seconds",
            ),
            "pgbench": median_of(runs["pgbench"], "tps", "latency_avg_ms"),
            "app_over_pgbench": ratio(runs["singles"], runs["pgbench"]),
            "floor": median_of(runs["floor"], "req_per_s", "p50_ms", "p99_ms"),
            "floor_over_pgbench": ratio(runs["floor"], runs["pgbench"]),
            "app_over_floor": ratio(runs["singles"], runs["floor"], "req_per_s"),
            "runs": runs,
        }

    # --- closed loop: wrk ------------------------------------------------------------------

    def _singles(self, bodies: list) -> dict[str, object]:
        """Accepted with the worker stopped (acceptance alone, as pgbench runs), then processed
        by the worker alone, timed."""
        figures, _ = self._accept_then_drain("singles", bodies, once=False)
        print(f"      worker: {figures['worker_deliveries']:,} deliveries in "
              f"{figures['worker_batches']} batches, {figures['worker_deliveries_per_s']} "
              f"deliveries/s between its first and last commit; queue empty "
              f"{figures['drain_wall_seconds']} s after its start", flush=True)  # fmt: skip
        return figures

    def singles_beside_worker(self) -> dict[str, object]:
        """Single clicks, closed loop, with the worker processing meanwhile, as deployed: what
        the box accepts when processing takes its share of the CPU too."""
        self.worker.drain(DRAIN_TIMEOUT)
        print("  single clicks with the worker running", flush=True)
        figures = self.wrk("singles beside the worker", cut(self.singles, self.closed_bodies),
                            SECONDS)  # fmt: skip
        figures["queued_at_end"] = self.worker.backlog.sample()["queued"]
        figures["drain_seconds"] = _rounded(self.worker.drain(DRAIN_TIMEOUT))
        print(f"      worker: {figures['queued_at_end']} deliveries queued at the end, empty "
              f"{figures['drain_seconds']} s later", flush=True)  # fmt: skip
        return figures

    def _accept_then_drain(
        self, name: str, bodies: list, once: bool, seconds: float = SECONDS
    ) -> tuple[dict[str, object], float]:
        """wrk with the worker stopped, then the worker started and timed until the queue is
        empty; the figures of both, and the worker's CPU seconds."""
        self.worker.drain(DRAIN_TIMEOUT)
        self.worker.stop()
        before = self.marks()[1]
        figures = self.wrk(name, bodies, seconds, once=once)
        after = self.marks()[1]
        started = time.monotonic()
        worker_before = self.worker.cpu_seconds()
        drained = self.worker.drain(DRAIN_TIMEOUT)
        wall = time.monotonic() - started if drained is not None else None
        figures |= self._worker_rate(before, after)
        figures["drain_wall_seconds"] = _rounded(wall)
        return figures, self.worker.cpu_seconds() - worker_before

    def _arrays(self, bodies: list) -> dict[str, object]:
        """A fixed set accepted with the worker stopped, then processed by the worker alone."""
        figures, cpu = self._accept_then_drain(
            "arrays", bodies, once=True, seconds=self.arrays_seconds
        )
        processed = figures["worker_clicks"] or 1
        figures["worker_cpu_ms_per_1000_clicks"] = round(cpu * 1e6 / processed, 1)
        print(f"      worker: {figures['worker_clicks']:,} clicks in {figures['worker_batches']} "
              f"batches, {figures['worker_clicks_per_s']} clicks/s between its first and last "
              f"commit ({figures['worker_created_per_s']} created/s); queue empty "
              f"{figures['drain_wall_seconds']} s after its start", flush=True)  # fmt: skip
        return figures

    def _worker_rate(self, first_id: int, last_id: int) -> dict[str, object]:
        """Clicks per second the worker processed deliveries first_id < id <= last_id at, from
        its batches' processed_at (one per batch): the clicks of every batch but the first over
        the time from the first batch's commit to the last's."""
        with self.pg.connect(self.database) as conn:
            batches = conn.execute(
                "SELECT extract(epoch FROM processed_at), count(*),"
                " sum(clicks_created + duplicates), sum(clicks_created)"
                " FROM analytics_delivery WHERE id > %s AND id <= %s"
                " GROUP BY processed_at ORDER BY processed_at",
                (first_id, last_id),
            ).fetchall()
        clicks = sum(b[2] for b in batches)
        out: dict[str, object] = {
            "worker_batches": len(batches),
            "worker_clicks": int(clicks),
            "worker_deliveries": sum(b[1] for b in batches),
            "worker_clicks_per_s": None,
            "worker_created_per_s": None,
            "worker_deliveries_per_s": None,
        }
        if len(batches) >= 2 and batches[0][0] is not None:
            window = float(batches[-1][0] - batches[0][0])
            out["worker_window_seconds"] = round(window, 2)
            out["worker_clicks_per_s"] = round(sum(b[2] for b in batches[1:]) / window)
            out["worker_created_per_s"] = round(sum(b[3] for b in batches[1:]) / window)
            out["worker_deliveries_per_s"] = round(sum(b[1] for b in batches[1:]) / window)
        return out

    def wrk(
        self,
        name: str,
        bodies: list,
        seconds: float,
        once: bool = False,
        server: AppServer | None = None,
    ) -> dict[str, object]:
        """wrk for `seconds` over `bodies` (with redeliveries); with `once`, each request is
        posted once and the run ends when they are (`seconds` is then only a bound). Posted to
        `server` (the floor) instead of the app, nothing is recorded for the accounting."""
        server = server or self.server
        recorded = server is self.server
        sequence = with_redeliveries(bodies, REDELIVERY, self.rng)
        requests = self.work_dir / "intake.requests"
        offsets = self.work_dir / "intake.offsets"
        out = self.work_dir / "intake.wrk.json"
        host = f"127.0.0.1:{server.port}"
        with requests.open("wb") as raw, offsets.open("w") as lengths:
            for body in sequence:
                if recorded:
                    self.sent[_digest(body.data)] = body
                path, secret = self.endpoints[body.sender]
                head = [f"POST {path} HTTP/1.1", f"Host: {host}"]
                headers = headers_for(body.sender, secret, body.data)
                head += [f"{key}: {value}" for key, value in headers.items()]
                head += [f"Content-Length: {len(body.data)}", "", ""]
                request = "\r\n".join(head).encode() + body.data
                raw.write(request)
                lengths.write(f"{len(request)}\n")
        env = dict(os.environ, BENCH_WRK_REQUESTS=str(requests), BENCH_WRK_OFFSETS=str(offsets))
        env |= {"BENCH_WRK_OUT": str(out), "BENCH_WRK_THREADS": str(WRK_THREADS)}
        env["BENCH_WRK_ONCE"] = "1" if once else "0"
        command = [
            "wrk",
            "-t",
            str(WRK_THREADS),
            "-c",
            str(CONNECTIONS),
            "-d",
            f"{math.ceil(seconds)}s",
        ]
        command += ["--timeout", "30s", "-s", str(LUA), server.base_url + "/"]
        before = self._counters(server)
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + 90
        )
        if done.returncode or not out.exists():
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
        used = self._used(before, server=server)
        report = json.loads(out.read_text())
        for path in (requests, offsets, out):
            path.unlink()
        if recorded:
            self.answered += [int(d) for d in report["deliveries"]]
            self.spooled += report["spooled"]
        # A run posting a fixed set ends early: from its first request to its last answer.
        duration = (report["span_us"] if once else report["duration_us"]) / 1e6
        answered = report["requests"]
        ok = report["statuses"].get("200", 0)
        # Clicks carried by the bodies answered 200 (arrays all hold ARRAY_SIZE; a single body
        # holds one, or none for the rare non-click event left in a demo body).
        clicks = ok * statistics.fmean(body.clicks for body in sequence)
        errors = {k: v for k, v in report["errors"].items() if v and k != "status"}
        figures = {
            "run": name,
            "seconds": round(duration, 1),
            "requests": answered,
            "req_per_s": round(answered / duration, 1),
            "clicks_per_s": round(clicks / duration),
            "p50_ms": round(report["latency_us"]["p50"] / 1000, 1),
            "p99_ms": round(report["latency_us"]["p99"] / 1000, 1),
            "max_ms": round(report["latency_us"]["max"] / 1000, 1),
            "non_200": {s: n for s, n in report["statuses"].items() if s != "200"} | errors,
            "spooled": len(report["spooled"]),
            "wrapped": report["wrapped"],  # the sequence ran out: late requests were repeats
        }
        figures |= per_request(used, answered)
        print(f"    {name}: {figures['req_per_s']} req/s ({figures['clicks_per_s']} clicks/s), "
              f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, non-200 "
              f"{figures['non_200'] or 0}", flush=True)  # fmt: skip
        return figures

    # --- open loop: aiohttp ----------------------------------------------------------------

    def open_loop(self) -> dict[str, object]:
        """Single clicks at OPEN_RATE/s for OPEN_SECONDS, the worker running; the backlog.

        It starts with nothing left to process: no queued delivery and no click waiting for
        the rollups. The clicks of the pass before wait BOT_LATE_EVIDENCE_SECONDS for the
        rollups, then tens of thousands of them at once would be added during this pass."""
        self.worker.drain(DRAIN_TIMEOUT)
        rollup_backlog, rollup_wait = self._wait_for_rollups()
        count = int(OPEN_RATE * OPEN_SECONDS)
        fresh = cut(self.singles, int(count * (1 - REDELIVERY)))
        sequence = with_redeliveries(fresh, REDELIVERY, self.rng)[:count]
        requests = []
        for body in sequence:
            self.sent[_digest(body.data)] = body
            path, secret = self.endpoints[body.sender]
            requests.append((path, headers_for(body.sender, secret, body.data), body.data))
        client = OpenLoop(self.server.base_url)
        print(f"  open loop: {len(requests):,} single clicks at {OPEN_RATE:g}/s", flush=True)
        queue = _QueueSampler(self.worker)
        before = self._counters()
        with queue:
            asyncio.run(client.run(iter(requests), OPEN_RATE, asyncio.Event()))
        queued_at_end = self.worker.backlog.sample()["queued"]
        drained = self.worker.drain(DRAIN_TIMEOUT)
        used = self._used(before, client_self=True)
        samples = client.samples
        ok = [s for s in samples if s.outcome == "200"]
        self.answered += [s.delivery for s in ok if s.delivery is not None]
        self.spooled += [s.spool_id for s in ok if s.spool_id]
        figures = {"run": "open loop", "rate": OPEN_RATE, "seconds": OPEN_SECONDS}
        figures |= client.summary()
        figures["non_2xx"] = sum(1 for s in samples if not s.outcome.startswith("2"))
        figures["service_p99_ms"] = percentile([s.service for s in ok], 99)
        figures["queued_max"] = queue.peak
        figures["queued_p99"] = queue.p99()
        figures["queued_at_end"] = queued_at_end
        figures["drain_seconds"] = _rounded(drained)
        figures["rollup_backlog_before"] = rollup_backlog
        figures["rollup_wait_seconds"] = _rounded(rollup_wait)
        figures |= per_request(used, len(samples))
        print(f"    open loop {OPEN_RATE:g}/s: {figures['req_per_s']} answered/s, p50 "
              f"{figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, non-2xx "
              f"{figures['non_2xx']}, unanswered at the end {figures['outstanding_at_end']}; "
              f"worker queue max {queue.peak}, at the end {queued_at_end}",
              flush=True)  # fmt: skip
        return figures

    def _wait_for_rollups(self) -> tuple[int, float]:
        """(clicks waiting for the rollups at first, seconds until none waits)."""
        started = time.monotonic()
        count = "SELECT count(*) FROM analytics_pendingrollup"
        with self.pg.connect(self.database) as conn:
            conn.autocommit = True
            first = waiting = conn.execute(count).fetchone()[0]
            while waiting and time.monotonic() - started < DRAIN_TIMEOUT:
                time.sleep(0.2)
                waiting = conn.execute(count).fetchone()[0]
        return first, time.monotonic() - started

    # --- pgbench ---------------------------------------------------------------------------

    def _pgbench(self, mix: Counter) -> dict[str, object]:
        """pgbench with the acceptance statements, the worker stopped; its rows deleted after."""
        self.worker.drain(DRAIN_TIMEOUT)
        self.worker.stop()
        first = self.marks()[1]
        total = sum(mix.values())
        weights = {sender: round(100 * mix[sender] / total) for sender in self.captured}
        before = self._counters()
        figures = run_pgbench(
            self.pg, self.database, self.captured, weights, CONNECTIONS, SECONDS, self.work_dir
        )
        used = self._used(before)
        with self.pg.connect(self.database) as conn:
            deleted = conn.execute(
                "DELETE FROM analytics_delivery WHERE id > %s AND status = 'received'", (first,)
            ).rowcount
        figures["rows_deleted"] = deleted
        figures |= per_request(used, figures["transactions"] or 1, load="pgbench")
        self.worker.start()
        print(f"    pgbench: {figures['tps']} tps (latency avg {figures['latency_avg_ms']} ms), "
              f"{sum(figures['statements_per_webhook'].values()) / len(self.captured):g} "
              "statements per webhook", flush=True)  # fmt: skip
        return figures

    # --- the floor: bench/floor_app.py ------------------------------------------------------

    def _floor(self, bodies: list) -> dict[str, object]:
        """The round's single-click requests posted to the floor app, the worker stopped; the
        rows it inserted deleted after, so they are never processed nor counted."""
        self.worker.drain(DRAIN_TIMEOUT)
        self.worker.stop()
        if self.floor is None:
            log = self.work_dir / "floor_app.log"
            self.floor = self.server.serving("floor_app:application", BENCH_DIR, log)
            self.floor.start(probe_path="/")
        first = self.marks()[1]
        figures = self.wrk("floor", bodies, SECONDS, server=self.floor)
        with self.pg.connect(self.database) as conn:
            figures["rows_deleted"] = conn.execute(
                "DELETE FROM analytics_delivery WHERE id > %s AND status = 'received'", (first,)
            ).rowcount
        self.worker.start()
        return figures

    # --- what it cost, and the accounting ---------------------------------------------------

    def _counters(self, server: AppServer | None = None) -> dict[str, float]:
        with self.pg.connect(self.database) as conn:
            commits, wal = conn.execute(
                "SELECT xact_commit, pg_current_wal_lsn() - '0/0'::pg_lsn"
                " FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        return {
            "server": cpu_seconds((server or self.server).process.pid),
            "postgres": cpu_seconds(self.pg.pid),
            "worker": self.worker.cpu_seconds(),
            "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
            + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime,
            "self": time.process_time(),
            "commits": commits,
            "wal": float(wal),
        }

    def _used(
        self, before: dict[str, float], client_self: bool = False, server: AppServer | None = None
    ) -> dict[str, float]:
        time.sleep(1.5)  # backends publish their commit counts within ~1 s of going idle
        after = self._counters(server)
        used = {key: after[key] - before[key] for key in after}
        used["load"] = used["self"] if client_self else used["children"]
        return used

    def verify(self) -> dict[str, object]:
        """Once the queue is empty: clicks stored == the distinct clicks of the bodies answered
        200, nothing else; no delivery queued or failed; the deliveries' clicks_created add up
        to the clicks stored."""
        click_mark, delivery_mark = self.watermarks
        with self.pg.connect(self.database) as conn:
            deliveries = conn.execute(
                "SELECT id, md5(body), status, clicks_created, spool_id::text"
                " FROM analytics_delivery WHERE id > %s",
                (delivery_mark,),
            ).fetchall()
            rows = conn.execute(
                "SELECT sender, click_key FROM analytics_click WHERE id > %s", (click_mark,)
            ).fetchall()
        by_id = {d[0]: d for d in deliveries}
        by_spool = {d[4]: d[0] for d in deliveries if d[4]}
        statuses = Counter(d[2] for d in deliveries)
        answered = set(self.answered) | {by_spool.get(s) for s in self.spooled}
        missing = {d for d in answered if d not in by_id}  # answered 200, no row (or spool row)
        acknowledged: set = set()
        for delivery in answered - missing:
            acknowledged |= self.sent[by_id[delivery][1]].keys
        stored = set(rows)
        # The click identities of every body posted that reached the server (one that did not
        # cannot have made a click), computed from the bench's own copy of the bytes.
        every_sent: set = set()
        for digest in {d[1] for d in deliveries}:
            if digest in self.sent:
                every_sent |= self.sent[digest].keys
        lost = acknowledged - stored
        unexpected = stored - every_sent
        created = sum(d[3] for d in deliveries)
        return {
            "deliveries_answered_200": len(self.answered) + len(self.spooled),
            "answered_spooled": len(self.spooled),
            "deliveries_by_status": dict(statuses),
            "answered_without_a_row": len(missing),
            "clicks_acknowledged": len(acknowledged),
            "clicks_stored": len(rows),
            "clicks_stored_distinct": len(stored),
            "clicks_created_on_deliveries": created,
            "lost": len(lost),
            "stored_but_never_sent": len(unexpected),
            "stored_without_a_200": len(stored - acknowledged),
            # A click may be stored without a 200 (its answer timed out) but never lost,
            # doubled, or made up; nothing may wait in the queue or have failed.
            "ok": not lost
            and not unexpected
            and not missing
            and len(rows) == len(stored) == created
            and not statuses.get("received")
            and not statuses.get("failed"),
        }


class _QueueSampler:
    """The worker's queue (deliveries still `received`) once a second, in a thread."""

    def __init__(self, worker: BenchWorker) -> None:
        self.worker = worker
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "_QueueSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            queued = self.worker.backlog.queued()
            if queued is not None:
                self.samples.append(queued[0])

    @property
    def peak(self) -> int | None:
        return max(self.samples, default=None)

    def p99(self) -> int | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _digest(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def cut(pool: list, count: int) -> list:
    """Take the next `count` bodies off the pool (each body is posted in one run only)."""
    taken = pool[:count]
    del pool[:count]
    return taken


def summary_lines(intake: dict | None) -> list[str]:
    """The intake part of run.py's summary."""
    if not intake:
        return []
    if "skipped" in intake:
        return [f"\nintake: skipped ({intake['skipped']})"]
    one, arrays = intake["single_clicks"], intake["arrays_100"]
    open_, pgb, runs = intake["open_loop"], intake["pgbench"], intake["runs"]
    beside = intake["singles_beside_worker"]
    floor = intake["floor"]

    def cpu(kind: str, part: str) -> float:
        return statistics.median(r["cpu_ms_per_request"][part] for r in runs[kind])

    def each(kind: str, field: str) -> float:
        return statistics.median(r[field] for r in runs[kind] if r.get(field) is not None)

    acc = intake["accounting"]
    target = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    arrays_ok = (arrays["clicks_per_s"] or 0) >= 10_000
    worker_ok = (arrays["worker_clicks_per_s"] or 0) >= 5_000
    open_ok = not open_["non_2xx"] and (open_["p99_ms"] or 1e9) <= 50
    bcpu = beside["cpu_ms_per_request"]
    return [
        f"\nintake, {intake['server']} ({intake['connections']} connections, medians of "
        f"{intake['rounds']} rounds of {intake['seconds']:g} s; worker {intake.get('worker')}):",
        f"  single clicks accepted (worker stopped): {one['req_per_s']} req/s (rounds "
        f"{one['per_round']}), p50 {one['p50_ms']} ms, p99 {one['p99_ms']} ms, non-200 "
        f"{one['non_200'] or 0}   (>= 1000/s: {target((one['req_per_s'] or 0) >= 1000)})",
        f"  pgbench, the same acceptance statements, {intake['connections']} clients: "
        f"{pgb['tps']} tps; app/pgbench {intake['app_over_pgbench']}   (>= 0.5: "
        f"{target((intake['app_over_pgbench'] or 0) >= 0.5)})",
        f"  the floor (bench/floor_app.py: read, parse, the same INSERT; no authentication), "
        f"same server: {floor['req_per_s']} req/s (rounds {floor['per_round']}), p99 "
        f"{floor['p99_ms']} ms; floor/pgbench {intake['floor_over_pgbench']}, app/floor "
        f"{intake['app_over_floor']} (CPU ms/request: server {cpu('floor', 'server')}, "
        f"PostgreSQL {cpu('floor', 'postgres')})",
        f"  single clicks processed by the worker alone: {one['worker_deliveries_per_s']} "
        f"deliveries/s; queue empty {one['drain_wall_seconds']} s after its start",
        f"  single clicks accepted with the worker running: {beside['req_per_s']} req/s, p50 "
        f"{beside['p50_ms']} ms, p99 {beside['p99_ms']} ms, non-200 {beside['non_200'] or 0}; "
        f"{beside['queued_at_end']} queued at the end, empty {beside['drain_seconds']} s later"
        f" (CPU ms/request: server {bcpu['server']}, PostgreSQL {bcpu['postgres']}, worker "
        f"{bcpu['worker']})",
        f"  arrays of {ARRAY_SIZE}, accepted (worker stopped): {arrays['clicks_per_s']} clicks/s "
        f"({arrays['req_per_s']} req/s), p50 {arrays['p50_ms']} ms, p99 {arrays['p99_ms']} ms, "
        f"non-200 {arrays['non_200'] or 0}   (>= 10,000 clicks/s: {target(arrays_ok)})",
        f"  arrays of {ARRAY_SIZE}, processed by the worker alone: "
        f"{arrays['worker_clicks_per_s']} clicks/s ({arrays['worker_created_per_s']} created/s;"
        f" rounds {[r['worker_clicks_per_s'] for r in runs['arrays']]}), queue empty "
        f"{arrays['drain_wall_seconds']} s after the worker's start   (>= 5,000 clicks/s: "
        f"{target(worker_ok)})",
        f"  open loop {open_['rate']:g}/s for {open_['seconds']:g} s, worker running: "
        f"{open_['req_per_s']} answered/s, p50 {open_['p50_ms']} ms, p99 {open_['p99_ms']} ms, "
        f"non-2xx {open_['non_2xx']}; backlog: {open_['outstanding_at_end']} unanswered at the "
        f"end, worker queue max {open_['queued_max']} (at the end {open_['queued_at_end']}, "
        f"empty {open_['drain_seconds']} s later)   (0 non-2xx, p99 <= 50 ms: {target(open_ok)})",
        f"    started once {open_['rollup_backlog_before']:,} clicks were in the rollups "
        f"({open_['rollup_wait_seconds']} s); client lag max {open_['client_max_lag_ms']} ms;"
        f" seconds with the most answers over 50 ms: {open_['over_50ms_by_second']}",
        f"  per single webhook accepted: CPU server {cpu('singles', 'server')} ms, PostgreSQL "
        f"{cpu('singles', 'postgres')} ms, wrk {cpu('singles', 'load')} ms; commits "
        f"{each('singles', 'commits_per_request')} (pgbench "
        f"{each('pgbench', 'commits_per_request')}), WAL "
        f"{each('singles', 'wal_bytes_per_request'):.0f} B (pgbench "
        f"{each('pgbench', 'wal_bytes_per_request'):.0f} B)",
        f"  worker CPU per 1,000 array clicks: "
        f"{each('arrays', 'worker_cpu_ms_per_1000_clicks')} ms",
        f"  accounting: {acc['deliveries_answered_200']:,} deliveries answered 200, "
        f"{acc['clicks_acknowledged']:,} clicks acknowledged, {acc['clicks_stored']:,} stored "
        f"({acc['stored_without_a_200']:,} whose answer was not awaited), {acc['lost']} lost, "
        f"{acc['clicks_stored'] - acc['clicks_stored_distinct']} doubled, "
        f"{acc['stored_but_never_sent']} never sent; deliveries {acc['deliveries_by_status']}: "
        f"{'OK' if acc['ok'] else 'FAILED'}",
    ]
