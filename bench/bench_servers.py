"""Which web server, and how many processes: the same single-click wrk run against each.

For every server spec (BENCH_SERVERS or --servers, comma-separated), on the same scratch database
and with the processing worker running as in a deployment: start the server, warm it up, post
single-click webhooks with wrk (CONNECTIONS keep-alive connections, SECONDS per round, ROUNDS
rounds), let the worker empty the queue, stop the server. Bodies are the intake bench's (real
signed bodies of the four senders, ~10% redeliveries), each posted once. Reported per spec: the
median requests/s, p50 and p99 over the rounds, non-200 answers, and CPU ms per request of the
server and PostgreSQL. Specs:

    gunicorn:WxT        gunicorn gthread, W workers x T threads (README's deployment: 3x4)
    granian:WxT[:bpN][:st|:mt][:rtN]   granian --interface wsgi, W workers x T blocking threads,
                        backpressure N, runtime mode, N runtime threads
    uvicorn:W           uvicorn, Django's ASGI application, W workers

Specs run interleaved round by round (spec A, B, C, then A, B, C again...), so a burst of other
work on the shared box does not land on one server's rounds only.
"""

import os
import statistics
import time
from pathlib import Path

from bench_intake import CONNECTIONS, SEED, IntakeBench, cut
from intake_common import BenchWorker, demo_bodies, processing_worker, setup_django
from reliability_infra import AppServer, Granian, Gunicorn, ScratchPostgres, Uvicorn

DEFAULT_SPECS = "gunicorn:2x4,gunicorn:3x4,granian:1x4,granian:2x4,granian:3x4,uvicorn:2,uvicorn:3"
SECONDS = float(os.environ.get("BENCH_SERVERS_SECONDS") or 15)
ROUNDS = int(os.environ.get("BENCH_SERVERS_ROUNDS") or 2)


def make_server(spec: str, env: dict[str, str], log_path: Path) -> AppServer:
    """The server a spec names (see the module docstring)."""
    kind, _, shape = spec.partition(":")
    parts = shape.split(":") if shape else []
    if kind == "gunicorn":
        workers, _, threads = (parts[0] if parts else "3x4").partition("x")
        return Gunicorn(env, log_path, workers=int(workers), threads=int(threads or 4))
    if kind == "granian":
        workers, _, threads = (parts[0] if parts else "2x4").partition("x")
        backpressure, extra_args = None, []
        for extra in parts[1:]:
            if extra.startswith("bp"):
                backpressure = int(extra[2:])
            elif extra in ("st", "mt"):
                extra_args += ["--runtime-mode", extra]
            elif extra.startswith("rt"):
                extra_args += ["--runtime-threads", extra[2:]]
            else:
                raise ValueError(f"unknown granian option {extra!r} in {spec!r}")
        return Granian(
            env, log_path, int(workers), int(threads or 4), backpressure, tuple(extra_args)
        )
    if kind == "uvicorn":
        return Uvicorn(env, log_path, workers=int(parts[0]) if parts else 2)
    raise ValueError(f"unknown server spec {spec!r}: gunicorn:WxT, granian:WxT[:bpN], uvicorn:W")


def run_servers(
    specs: list[str],
    pg: ScratchPostgres,
    database: str,
    env: dict[str, str],
    endpoints: dict[str, tuple[str, str]],
    work_dir: Path,
) -> dict[str, object]:
    setup_django(env["DATABASE_URL"], env.get("WEBHOOK_SPOOL_PATH"))
    servers = {spec: make_server(spec, env, work_dir / f"server-{spec}.log") for spec in specs}
    # Enough fresh bodies for the fastest server on an idle box: 3,000/s.
    bodies, _ = demo_bodies(int(3000 * SECONDS) * ROUNDS * len(specs), SEED + 7)
    runs: dict[str, list[dict]] = {spec: [] for spec in specs}
    spool = Path(env["WEBHOOK_SPOOL_PATH"])
    log = work_dir / "run_worker-servers.log"
    with processing_worker(env, log, lambda: pg.connect(database), spool) as worker:
        for round_ in range(ROUNDS):
            for spec, server in servers.items():
                print(f"  {server.describe()}, round {round_ + 1}/{ROUNDS}", flush=True)
                runs[spec].append(_one(server, pg, database, endpoints, work_dir, worker, bodies))
    results: dict[str, object] = {"seconds": SECONDS, "rounds": ROUNDS, "connections": CONNECTIONS}
    table = {}
    for spec, server in servers.items():
        rows = runs[spec]
        table[spec] = {
            "server": server.describe(),
            "req_per_s": round(statistics.median(r["req_per_s"] for r in rows), 1),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in rows), 1),
            "p99_ms": round(statistics.median(r["p99_ms"] for r in rows), 1),
            "per_round": [r["req_per_s"] for r in rows],
            "non_200": sum(sum(r["non_200"].values()) for r in rows),
            "cpu_ms_per_request": {
                part: round(statistics.median(r["cpu_ms_per_request"][part] for r in rows), 2)
                for part in ("server", "postgres", "worker", "load")
            },
            "queued_at_end": [r["queued_at_end"] for r in rows],
        }
    results["servers"] = table
    results["runs"] = runs
    return results


def _one(
    server: AppServer,
    pg: ScratchPostgres,
    database: str,
    endpoints: dict[str, tuple[str, str]],
    work_dir: Path,
    worker: BenchWorker,
    bodies: list,
) -> dict[str, object]:
    bench = IntakeBench(server, pg, database, endpoints, work_dir)
    bench.worker = worker
    worker.drain(300)
    server.start(endpoints["woodpecker"][0])
    try:
        bench.wrk("warm-up", cut(bodies, 2000), 3)
        worker.drain(300)
        figures = bench.wrk("singles", cut(bodies, int(3000 * SECONDS)), SECONDS)
        figures["queued_at_end"] = worker.backlog.sample()["queued"]
    finally:
        server.stop()
    time.sleep(1)
    return figures


def summary_lines(servers: dict | None) -> list[str]:
    if not servers:
        return []
    lines = [
        f"\nservers, single-click webhooks, wrk {servers['connections']} connections, medians of "
        f"{servers['rounds']} rounds of {servers['seconds']:g} s, worker running:",
        f"  {'server':<34}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}  {'rounds':<18}"
        f"{'CPU ms/req server, PG, worker':>30}",
    ]
    for row in servers["servers"].values():
        cpu = row["cpu_ms_per_request"]
        lines.append(
            f"  {row['server']:<34}{row['req_per_s']:>8}{row['p50_ms']:>8}{row['p99_ms']:>8}  "
            f"{row['per_round']!s:<18}{cpu['server']:>12}{cpu['postgres']:>8}"
            f"{cpu['worker']:>8}" + (f"  non-200 {row['non_200']}" if row["non_200"] else "")
        )
    return lines
