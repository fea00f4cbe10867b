"""Webhook intake throughput and latency against gunicorn, with PostgreSQL's own rate beside it.

App, PostgreSQL and load generator share the machine, as they do on a small deployment. Bodies
are the four senders' real shapes (analytics.demo), signed as the senders sign them, posted in an
order where ~10% of the slots repeat an earlier body (a sender's redelivery). Per round:

1. singles, closed loop: wrk, CONNECTIONS keep-alive connections for SECONDS, cycling through
   pre-built raw requests (bench/intake.lua). wrk is the fastest client available here (C,
   epoll), so the number measured is the server's maximum, not the client's: a Python client
   costs about as much CPU per request as the app does and would take it from the app's share.
   Its latencies are service times at saturation.
2. Woodpecker arrays of 100 clicks, closed loop, the same way: requests/s and clicks/s.
3. singles, open loop at OPEN_RATE/s (aiohttp; wrk2 is not packaged and wrk's delay() would
   only add think time, still closed loop): each request is due at start + k / rate and its
   latency counts from that due time, so a server falling behind shows its whole queue
   (no coordinated omission). 128 keep-alive connections at most; waiting for one counts, and
   a request never answered counts as the 30 s timeout. Then the same at half the rate step 1
   reached, for the latency of a box that keeps up.
4. pgbench with the same client count: the same statements and commits per webhook, straight
   to PostgreSQL (bench/pgbench_intake.py). app/pgbench = how much of PostgreSQL's rate the app
   delivers.

Then every click must be accounted for: the clicks of every delivery answered 200 (identities
computed here from the bodies, not by the server) must be stored, once; nothing else may be.
Reported per run: requests/s, p50/p99, non-200 answers, CPU ms per request (gunicorn,
PostgreSQL, load generator), commits and WAL bytes per request; medians over ROUNDS rounds.
"""

import asyncio
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import time
from collections import Counter
from pathlib import Path

from intake_common import (
    Endpoints,
    OpenLoop,
    demo_bodies,
    headers_for,
    median_of,
    per_request,
    percentile,
    ratio,
    rollups_loop,
    setup_django,
    with_redeliveries,
    woodpecker_arrays,
)
from pgbench_intake import REDELIVERY, run_pgbench
from reliability_infra import Gunicorn, ScratchPostgres, cpu_seconds

SECONDS = float(os.environ.get("BENCH_INTAKE_SECONDS") or 20)
CONNECTIONS = int(os.environ.get("BENCH_INTAKE_CONNECTIONS") or 16)
ROUNDS = int(os.environ.get("BENCH_INTAKE_ROUNDS") or 3)
OPEN_RATE = 500.0
ARRAY_SIZE = 100
WRK_THREADS = 2
LUA = Path(__file__).resolve().parent / "intake.lua"
SEED = 2611


def run_intake(
    gunicorn: Gunicorn,
    pg: ScratchPostgres,
    database: str,
    env: dict[str, str],
    endpoints: Endpoints,
    work_dir: Path,
) -> dict[str, object]:
    if shutil.which("wrk") is None:
        print("intake: skipped, wrk is missing; install wrk: apt-get install wrk", flush=True)
        return {"skipped": "wrk not installed (apt-get install wrk)"}
    setup_django(env["DATABASE_URL"])
    bench = _Bench(gunicorn, pg, database, endpoints, work_dir)
    with pg.connect(database) as conn:
        bench.watermarks = conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM analytics_click),"
            " (SELECT coalesce(max(id), 0) FROM analytics_delivery)"
        ).fetchone()
    results: dict[str, object] = {"rounds": ROUNDS, "connections": CONNECTIONS}
    with rollups_loop(env, work_dir / "update_rollups.log") as rollups:
        results |= bench.rounds()
    results |= rollups
    print("  checking every acknowledged click is stored once", flush=True)
    results["accounting"] = bench.verify()
    return results


class _Bench:
    def __init__(
        self,
        gunicorn: Gunicorn,
        pg: ScratchPostgres,
        database: str,
        endpoints: Endpoints,
        work_dir: Path,
    ) -> None:
        self.gunicorn, self.pg, self.database = gunicorn, pg, database
        self.endpoints, self.work_dir = endpoints, work_dir
        self.rng = random.Random(SEED)
        self.watermarks = (0, 0)
        self.sent: dict[str, frozenset] = {}  # md5 of every body posted -> its click identities
        self.answered: list[int] = []  # delivery ids answered 200
        self.created = 0  # sum of clicks_created over the 200 answers
        self.array_position = 0  # Woodpecker items used so far: each array click is new

    def rounds(self) -> dict[str, object]:
        # Calibration: a short run sizes the body sets, so a faster app never runs out of fresh
        # bodies (wrk would start over: redeliveries, which are cheaper) and a slow one does not
        # wait for a generator making bodies it will never post.
        print("  warm-up and calibration (demo bodies)", flush=True)
        warm, items = demo_bodies(1500, SEED)
        single_rate = self._wrk("warm-up", warm, 5)["req_per_s"]
        warm_arrays = woodpecker_arrays(items, 40, ARRAY_SIZE)
        self.array_position = 40 * ARRAY_SIZE
        array_rate = self._wrk("warm-up arrays", warm_arrays, 3)["req_per_s"]
        # Generous: the box is shared, and a round may well run twice as fast as the warm-up.
        closed_bodies = int(max(single_rate * 3, 150) * SECONDS)
        per_round = closed_bodies + int(OPEN_RATE * SECONDS) + closed_bodies // 2
        print(f"  warm-up: {single_rate:.0f} singles/s, {array_rate:.1f} arrays/s; generating "
              f"{per_round * ROUNDS:,} demo clicks", flush=True)  # fmt: skip
        singles, more_items = demo_bodies(per_round * ROUNDS, SEED + 1)
        items += more_items
        # At least a few arrays per connection, or wrk's first requests already wrap around.
        arrays_per_round = max(int(array_rate * 3 * SECONDS), 4 * CONNECTIONS)
        runs: dict[str, list] = {"singles": [], "arrays": [], "open": [], "open_half": []}
        runs["pgbench"] = []
        mix: Counter[str] = Counter()
        for round_ in range(ROUNDS):
            print(f"  round {round_ + 1}/{ROUNDS}", flush=True)
            closed = _cut(singles, closed_bodies)
            mix.update(body.sender for body in closed)
            runs["singles"].append(self._wrk("singles", closed, SECONDS))
            arrays = woodpecker_arrays(items, arrays_per_round, ARRAY_SIZE, self.array_position)
            self.array_position += arrays_per_round * ARRAY_SIZE
            runs["arrays"].append(self._wrk("arrays", arrays, SECONDS))
            runs["open"].append(self._open(singles, OPEN_RATE))
            half = max(5.0, round(runs["singles"][-1]["req_per_s"] / 2))
            runs["open_half"].append(self._open(singles, half))
            runs["pgbench"].append(self._pgbench(warm, mix))
        return {
            "single_clicks": median_of(runs["singles"], "req_per_s", "p50_ms", "p99_ms"),
            "arrays_100": median_of(
                runs["arrays"], "req_per_s", "clicks_per_s", "p50_ms", "p99_ms"
            ),
            "open_loop_500": median_of(runs["open"], "req_per_s", "p50_ms", "p99_ms"),
            "open_loop_half": median_of(runs["open_half"], "rate", "p50_ms", "p99_ms"),
            "pgbench": median_of(runs["pgbench"], "tps", "latency_avg_ms"),
            "app_over_pgbench": ratio(runs["singles"], runs["pgbench"]),
            "runs": runs,
        }

    # --- closed loop: wrk ------------------------------------------------------------------

    def _wrk(self, name: str, bodies: list, seconds: float) -> dict[str, object]:
        sequence = with_redeliveries(bodies, REDELIVERY, self.rng)
        requests = self.work_dir / "intake.requests"
        offsets = self.work_dir / "intake.offsets"
        out = self.work_dir / "intake.wrk.json"
        host = f"127.0.0.1:{self.gunicorn.port}"
        with requests.open("wb") as raw, offsets.open("w") as lengths:
            for body in sequence:
                self.sent[_digest(body.data)] = body.keys
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
        command = ["wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds:g}s"]
        command += ["--timeout", "30s", "-s", str(LUA), self.gunicorn.base_url + "/"]
        before = self._counters()
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + 90
        )
        if done.returncode or not out.exists():
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
        used = self._used(before)
        report = json.loads(out.read_text())
        for path in (requests, offsets, out):
            path.unlink()
        self.answered += [int(d) for d in report["deliveries"]]
        self.created += report["clicks_created"]
        duration = report["duration_us"] / 1e6
        answered = report["requests"]
        errors = {k: v for k, v in report["errors"].items() if v and k != "status"}
        figures = {
            "run": name,
            "seconds": round(duration, 1),
            "requests": answered,
            "req_per_s": round(answered / duration, 1),
            "clicks_per_s": round((report["clicks_created"] + report["duplicates"]) / duration),
            "p50_ms": round(report["latency_us"]["p50"] / 1000, 1),
            "p99_ms": round(report["latency_us"]["p99"] / 1000, 1),
            "max_ms": round(report["latency_us"]["max"] / 1000, 1),
            "non_200": {s: n for s, n in report["statuses"].items() if s != "200"} | errors,
            "wrapped": report["wrapped"],  # the sequence ran out: late requests were repeats
            "clicks_created": report["clicks_created"],
            "duplicates": report["duplicates"],
        }
        figures |= per_request(used, answered)
        print(f"    {name}: {figures['req_per_s']} req/s ({figures['clicks_per_s']} clicks/s), "
              f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, non-200 "
              f"{figures['non_200'] or 0}", flush=True)  # fmt: skip
        return figures

    # --- open loop: aiohttp ----------------------------------------------------------------

    def _open(self, pool: list, rate: float) -> dict[str, object]:
        sequence = with_redeliveries(_cut(pool, int(rate * SECONDS * 0.9)), REDELIVERY, self.rng)
        requests = []
        for body in sequence:
            self.sent[_digest(body.data)] = body.keys
            path, secret = self.endpoints[body.sender]
            requests.append((path, headers_for(body.sender, secret, body.data), body.data))
        client = OpenLoop(self.gunicorn.base_url)
        before = self._counters()
        asyncio.run(client.run(iter(requests), rate, asyncio.Event()))
        used = self._used(before, client_self=True)
        samples = client.samples
        ok = [s for s in samples if s.outcome == "200"]
        self.answered += [s.delivery for s in ok]
        self.created += sum(s.created for s in ok)
        figures = {"run": "open loop", "rate": rate, **client.summary()}
        figures["service_p99_ms"] = percentile([s.service for s in ok], 99)
        figures |= per_request(used, len(samples))
        print(f"    open loop {rate:g}/s: {figures['req_per_s']} answered/s, p50 "
              f"{figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, non-200 "
              f"{figures['non_200'] or 0}", flush=True)  # fmt: skip
        return figures

    # --- pgbench ---------------------------------------------------------------------------

    def _pgbench(self, warm: list, mix: Counter) -> dict[str, object]:
        samples = {}
        for body in warm:  # the first single-click body of each sender
            samples.setdefault(body.sender, body.data)
        with self.pg.connect(self.database) as conn:
            ids = dict(conn.execute("SELECT sender, min(id) FROM analytics_webhookendpoint"
                                    " GROUP BY sender").fetchall())  # fmt: skip
        total = sum(mix.values())
        weights = {sender: round(100 * mix[sender] / total) for sender in samples}
        before = self._counters()
        figures = run_pgbench(
            self.pg, self.database, samples, weights, ids, CONNECTIONS, SECONDS, self.work_dir
        )
        used = self._used(before)
        figures |= per_request(used, round(figures["tps"] * SECONDS), load="pgbench")
        print(f"    pgbench: {figures['tps']} tps (latency avg {figures['latency_avg_ms']} ms)",
              flush=True)  # fmt: skip
        return figures

    # --- what it cost, and the accounting ---------------------------------------------------

    def _counters(self) -> dict[str, float]:
        with self.pg.connect(self.database) as conn:
            commits, wal = conn.execute(
                "SELECT xact_commit, pg_current_wal_lsn() - '0/0'::pg_lsn"
                " FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        return {
            "gunicorn": cpu_seconds(self.gunicorn.process.pid),
            "postgres": cpu_seconds(self.pg.pid),
            "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
            + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime,
            "self": time.process_time(),
            "commits": commits,
            "wal": float(wal),
        }

    def _used(self, before: dict[str, float], client_self: bool = False) -> dict[str, float]:
        time.sleep(2)  # backends publish their commit counts within ~1 s of going idle
        after = self._counters()
        used = {key: after[key] - before[key] for key in after}
        used["load"] = used["self"] if client_self else used["children"]
        return used

    def verify(self) -> dict[str, object]:
        """Clicks stored == the distinct clicks of the bodies answered 200, nothing else."""
        click_mark, delivery_mark = self.watermarks
        with self.pg.connect(self.database) as conn:
            digests = dict(
                conn.execute(
                    "SELECT id, md5(body) FROM analytics_delivery WHERE id > %s", (delivery_mark,)
                ).fetchall()
            )
            rows = conn.execute(
                "SELECT sender, click_key FROM analytics_click WHERE id > %s"
                " AND click_key NOT LIKE 'pgb-%%'",  # pgbench's own rows
                (click_mark,),
            ).fetchall()
        stored = set(rows)
        acknowledged: set = set()
        for delivery in set(self.answered):
            acknowledged |= self.sent[digests[delivery]]
        every_sent = set().union(*self.sent.values())
        lost = acknowledged - stored
        unexpected = stored - every_sent
        return {
            "deliveries_answered_200": len(self.answered),
            "clicks_acknowledged": len(acknowledged),
            "clicks_stored": len(rows),
            "clicks_stored_distinct": len(stored),
            "clicks_created_reported": self.created,
            "lost": len(lost),
            "stored_but_never_sent": len(unexpected),
            "stored_without_a_200": len(stored - acknowledged),
            # A click may be stored without a 200 (its answer timed out) but never lost,
            # doubled, or made up; with every answer a 200, stored == created == acknowledged.
            "ok": not lost and not unexpected and len(rows) == len(stored) >= self.created,
        }


def _digest(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _cut(pool: list, count: int) -> list:
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
    open_, pgb, runs = intake["open_loop_500"], intake["pgbench"], intake["runs"]
    half = intake["open_loop_half"]

    def cpu(kind: str, part: str) -> float:
        return statistics.median(r["cpu_ms_per_request"][part] for r in runs[kind])

    def each(kind: str, field: str) -> float:
        return statistics.median(r[field] for r in runs[kind])

    def ceiling(kind: str) -> float:
        total = sum(cpu(kind, part) for part in ("gunicorn", "postgres", "load"))
        return os.cpu_count() * 1000 / total if total else 0.0

    acc = intake["accounting"]
    return [
        f"\nintake ({intake['connections']} connections, medians of {intake['rounds']} rounds of "
        f"{SECONDS:g} s; update_rollups {intake.get('update_rollups')}):",
        f"  single clicks, closed loop: {one['req_per_s']} req/s, p50 {one['p50_ms']} ms, p99 "
        f"{one['p99_ms']} ms, non-200 {one['non_200'] or 0}   (target >= 1000/s)",
        # What the CPU cost alone allows with every core busy: a figure the box's other work
        # skews less than the measured rate.
        f"  CPU-bound ceiling on {os.cpu_count()} cores: {ceiling('singles'):.0f} req/s singles,"
        f" {ceiling('arrays') * ARRAY_SIZE:.0f} clicks/s in arrays",
        f"  pgbench, same statements, {intake['connections']} clients: "
        f"{pgb['tps']} tps; app/pgbench {intake['app_over_pgbench']}",
        f"  arrays of {ARRAY_SIZE}: {arrays['req_per_s']} req/s = {arrays['clicks_per_s']} "
        f"clicks/s, p50 {arrays['p50_ms']} ms, p99 {arrays['p99_ms']} ms, non-200 "
        f"{arrays['non_200'] or 0}   (target >= 10,000 clicks/s)",
        f"  open loop {OPEN_RATE:g}/s: {open_['req_per_s']} answered/s, p50 {open_['p50_ms']} ms,"
        f" p99 {open_['p99_ms']} ms, non-200 {open_['non_200'] or 0}   (target p99 <= 50 ms;"
        " unanswered count as the 30 s timeout)",
        f"  open loop at half the closed-loop rate ({half['rate']:g}/s): p50 {half['p50_ms']}"
        f" ms, p99 {half['p99_ms']} ms, non-200 {half['non_200'] or 0}",
        f"  per single webhook: CPU gunicorn {cpu('singles', 'gunicorn')} ms, PostgreSQL "
        f"{cpu('singles', 'postgres')} ms, wrk {cpu('singles', 'load')} ms; commits "
        f"{each('singles', 'commits_per_request')} (pgbench "
        f"{each('pgbench', 'commits_per_request')}), WAL "
        f"{each('singles', 'wal_bytes_per_request'):.0f} B (pgbench "
        f"{each('pgbench', 'wal_bytes_per_request'):.0f} B)",
        f"  accounting: {acc['clicks_acknowledged']:,} clicks acknowledged, "
        f"{acc['clicks_stored']:,} stored ({acc['stored_without_a_200']:,} whose answer was not "
        "awaited: in flight as a run ended, or timed out), "
        f"{acc['lost']} lost, {acc['clicks_stored'] - acc['clicks_stored_distinct']} doubled, "
        f"{acc['stored_but_never_sent']} never sent: {'OK' if acc['ok'] else 'FAILED'}",
    ]
