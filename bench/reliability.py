"""Reliability of the webhook intake under production-like load: `make reliability`.

Two scenarios, each on a fresh database of a scratch PostgreSQL under var/reliability/ and a
gunicorn started as README's deployment section runs it:

- soak: mixed webhooks of all four senders at a steady rate, with redeliveries and concurrent
  copies; afterwards the clicks stored must equal the distinct clicks sent, exactly.
- outage: the same load, and PostgreSQL is stopped (pg_ctl stop -m fast) for ~10 s mid-run.
  Webhooks must get 503 meanwhile, the senders' retries land afterwards, the app recovers
  without a gunicorn restart, and again no click is lost or doubled.
- abuse (bench/reliability_abuse.py): a 20/s good stream while one client floods, sends 5 MiB
  bodies, or trickles bodies at 1 byte/s; the good stream's latency and errors per phase.

Figures go to stdout and bench/results/reliability-<UTC timestamp>.json; the exit status is
non-zero when a check fails (clicks stored != expected first of all). See RELIABILITY.md.
"""

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reliability_infra import (
    BASE_DIR,
    Gunicorn,
    ScratchPostgres,
    app_env,
    cpu_seconds,
    log_summary,
    prepare_database,
    remove_tree,
)

if TYPE_CHECKING:  # imported for real once Django is set up
    from reliability_load import Senders

WORK_DIR = BASE_DIR / "var" / "reliability"
RESULTS_DIR = BASE_DIR / "bench" / "results"
RECOVERY_GRACE = 5.0  # seconds after PostgreSQL is ready by which errors must have stopped


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        choices=("soak", "outage", "abuse", "both", "all"),
        default="all",
        help="both: soak and outage; all (default): soak, outage, then abuse",
    )
    parser.add_argument(
        "--quick", action="store_true", help="30 s runs instead of 180 s / 60 s; abuse ~1 min"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=60,
        help="deliveries per second (60: what a shared 2-core box sustains; see RELIABILITY.md)",
    )
    parser.add_argument("--duration", type=float, help="soak load, seconds (default 180)")
    parser.add_argument("--outage-duration", type=float, help="outage load (default 60)")
    parser.add_argument("--outage-at", type=float, help="stop PostgreSQL after (default 1/4)")
    parser.add_argument("--down", type=float, default=10, help="seconds PostgreSQL stays down")
    parser.add_argument(
        "--drain", type=float, default=60, help="seconds senders keep retrying after the load"
    )
    parser.add_argument("--timeout", type=float, default=15, help="senders' per-attempt timeout")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep var/reliability (data, logs)")
    args = parser.parse_args()
    args.duration = args.duration or (30 if args.quick else 180)
    args.outage_duration = args.outage_duration or (30 if args.quick else 60)
    args.outage_at = args.outage_at if args.outage_at is not None else args.outage_duration / 4
    return args


def setup_django(database_url: str) -> None:
    """The parsers import the models, so Django must be set up; DATABASE_URL first, or the
    settings would start the developer's embedded PostgreSQL."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "clicktrack.settings"
    import django

    django.setup()


async def stop_and_restart(
    pg: ScratchPostgres, senders: "Senders", at: float, down: float
) -> dict[str, float]:
    """Stop PostgreSQL ``at`` seconds into the load, keep it down ``down`` seconds, restart it."""
    marks: dict[str, float] = {}
    await asyncio.sleep(at)
    senders.phase.set("down", senders.now())
    marks["stop_issued"] = senders.now()
    await asyncio.to_thread(pg.stop)  # blocking pg_ctl in a thread: the load goes on
    marks["stopped"] = senders.now()
    await asyncio.sleep(down)
    marks["start_issued"] = senders.now()
    await asyncio.to_thread(pg.restart)
    marks["ready"] = senders.now()
    senders.phase.set("after", marks["ready"])
    return marks


async def drive(
    senders: "Senders", args: argparse.Namespace, duration: float, pg: ScratchPostgres | None
) -> dict[str, float]:
    load = asyncio.ensure_future(senders.run(args.rate, duration, args.drain))
    ticker = asyncio.ensure_future(progress(senders))
    try:
        if pg is None:
            await load
            return {}
        outage = stop_and_restart(pg, senders, args.outage_at, args.down)
        _, marks = await asyncio.gather(load, outage)
        return marks
    finally:
        ticker.cancel()


async def progress(senders: "Senders", every: float = 15) -> None:
    """A line every few seconds: runs last minutes and an overload shows as a growing gap."""
    while True:
        await asyncio.sleep(every)
        stats = senders.stats
        answers = " ".join(f"{k}:{v}" for k, v in stats.outcomes.most_common())
        print(f"  {senders.now():5.0f} s  {senders.phase.name:5}  deliveries {stats.deliveries}  "
              f"answers {answers}  retries {stats.retries}", flush=True)  # fmt: skip


def stored_figures(pg: ScratchPostgres, database: str) -> tuple[set, dict[str, int]]:
    from analytics.models import Click, Delivery

    with pg.connect(database) as conn:
        keys = set(conn.execute(f"SELECT sender, click_key FROM {Click._meta.db_table}"))
        rows = conn.execute(
            f"SELECT status, count(*) FROM {Delivery._meta.db_table} GROUP BY status"
        )
        return keys, dict(rows)


def run_scenario(name: str, pg: ScratchPostgres, args: argparse.Namespace) -> dict:
    from reliability_load import Phase, Senders, make_bodies, percentile

    duration = args.duration if name == "soak" else args.outage_duration
    database = f"reliability_{name}"
    print(f"\n== {name}: {duration:.0f} s at {args.rate:g} deliveries/s", flush=True)
    pg.create_database(database)
    env = app_env(pg.url(database))
    endpoints = prepare_database(env)
    # Enough fresh bodies for the non-redelivery slots; generated before the clock starts.
    bodies = list(make_bodies(int(args.rate * duration * 0.8) + 200, datetime.now(UTC), args.seed))
    log_path = WORK_DIR / f"gunicorn-{name}.log"
    gunicorn = Gunicorn(env, log_path)
    try:
        gunicorn.start(endpoints["woodpecker"][0])
        workers_before = gunicorn.worker_pids()
        cpu_before = _cpu(gunicorn, pg)
        senders = Senders(
            gunicorn.base_url, endpoints, iter(bodies), Phase(), args.seed, args.timeout
        )
        marks = asyncio.run(drive(senders, args, duration, pg if name == "outage" else None))
        workers_after = gunicorn.worker_pids()
        cpu_used = _cpu_used(cpu_before, _cpu(gunicorn, pg))
    finally:
        gunicorn.stop()
    stored, deliveries_by_status = stored_figures(pg, database)
    stats, expected = senders.stats, senders.expected
    ms = 1000
    figures = {
        "scenario": name,
        "load_seconds": duration,
        "wall_seconds": round(senders.stats.elapsed, 1),
        "rate_target": args.rate,
        "deliveries": stats.deliveries,
        "fresh_bodies": stats.fresh,
        "redeliveries": stats.redeliveries_immediate + stats.redeliveries_later,
        "redeliveries_immediate": stats.redeliveries_immediate,
        "redeliveries_later": stats.redeliveries_later,
        "copy_groups": stats.copy_groups,
        "concurrent_copies": stats.concurrent_copies,
        "attempts": stats.attempts,
        "retries": stats.retries,
        "responses": dict(stats.outcomes.most_common()),
        "responses_by_phase": {phase: dict(c) for phase, c in stats.by_phase.items()},
        "503_during_outage": stats.by_phase.get("down", {}).get("503", 0),
        "503_without_retry_after": stats.missing_retry_after,
        "clicks_expected": len(expected),
        "clicks_stored": len(stored),
        "clicks_acknowledged_created": stats.acknowledged_created,
        # A click whose delivery was answered 200 but is not stored is lost by the app; one
        # whose delivery never got a 200 was given up by its sender.
        "clicks_lost_after_200": len(senders.acknowledged - stored),
        "clicks_never_acknowledged": len(expected - senders.acknowledged),
        "ok_per_second": round(stats.outcomes["200"] / max(stats.last_answer_at, 1e-9), 1),
        "clicks_missing_sample": sorted(expected - stored)[:5],
        "clicks_unexpected_sample": sorted(stored - expected)[:5],
        "failed_deliveries": len(stats.failures),
        "failures_sample": stats.failures[:10],
        "response_samples": stats.samples,
        "latency_ms": {
            "p50": _ms(percentile(stats.latencies, 0.50), ms),
            "p99": _ms(percentile(stats.latencies, 0.99), ms),
            "max": _ms(max(stats.latencies, default=None), ms),
            "ok_p50": _ms(percentile(stats.latencies_ok, 0.50), ms),
            "ok_p99": _ms(percentile(stats.latencies_ok, 0.99), ms),
        },
        "cpu_seconds": cpu_used,
        "schedule_lag_max_s": round(stats.schedule_lag_max, 3),
        "deliveries_stored_by_status": deliveries_by_status,
        "gunicorn_workers": {"before": workers_before, "after": workers_after},
        "gunicorn_log": log_summary(log_path),
        "outage_marks_s": {key: round(value, 2) for key, value in marks.items()},
        "timeline": {str(s): dict(c) for s, c in sorted(stats.timeline.items())},
    }
    if marks:
        ready = marks["ready"]
        figures["first_200_after_ready_s"] = _after(stats.first_ok_after.get("after"), ready)
        figures["last_error_after_ready_s"] = _after(stats.last_error_at, ready)
    figures["checks"] = checks(figures)
    return figures


def _cpu(gunicorn: Gunicorn, pg: ScratchPostgres) -> dict[str, float]:
    # Where the machine's time goes: a 2-core box shares it between all three.
    own = os.times()
    return {
        "gunicorn": cpu_seconds(gunicorn.process.pid if gunicorn.process else None),
        "postgresql": cpu_seconds(pg.pid),
        "postgresql_pid": pg.pid or 0,
        "load_generator": own.user + own.system,
    }


def _cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float | None]:
    used = {key: round(after[key] - before[key], 1) for key in ("gunicorn", "load_generator")}
    # A restarted PostgreSQL (the outage) is a new process tree: its time is not comparable.
    same = before["postgresql_pid"] == after["postgresql_pid"]
    used["postgresql"] = round(after["postgresql"] - before["postgresql"], 1) if same else None
    return used


def _ms(value: float | None, scale: int) -> float | None:
    return None if value is None else round(value * scale, 1)


def _after(value: float | None, reference: float) -> float | None:
    return None if value is None else round(value - reference, 2)


def checks(figures: dict) -> dict[str, bool]:
    responses = figures["responses"]
    result = {
        "clicks stored == clicks expected": figures["clicks_stored"] == figures["clicks_expected"],
        "every click answered 200 is stored": figures["clicks_lost_after_200"] == 0,
        "no failed delivery": figures["failed_deliveries"] == 0,
        "no 400 (every body is valid)": "400" not in responses,
        "no 500": "500" not in responses,
    }
    if figures["scenario"] == "outage":
        down = figures["responses_by_phase"].get("down", {})
        last_error = figures.get("last_error_after_ready_s")
        result |= {
            "503 while PostgreSQL was down": down.get("503", 0) > 0,
            "only 200/503 while down (no 500, reset, timeout)": set(down) <= {"200", "503"},
            "Retry-After on every 503": figures["503_without_retry_after"] == 0,
            "same gunicorn workers (no restart)": figures["gunicorn_workers"]["before"]
            == figures["gunicorn_workers"]["after"],
            "200s after the restart": figures.get("first_200_after_ready_s") is not None,
            f"no errors {RECOVERY_GRACE:.0f} s after PostgreSQL is back": last_error is None
            or last_error <= RECOVERY_GRACE,
        }
    return result


ROWS = [
    ("load (s) / wall incl. drain (s)", lambda f: f"{f['load_seconds']:.0f} / {f['wall_seconds']}"),
    ("deliveries sent", lambda f: f["deliveries"]),
    ("  redeliveries (immediate / later)",
     lambda f: f"{f['redeliveries']} ({f['redeliveries_immediate']} / {f['redeliveries_later']})"),
    ("  concurrent copies (groups)", lambda f: f"{f['concurrent_copies']} ({f['copy_groups']})"),
    ("HTTP attempts / retries", lambda f: f"{f['attempts']} / {f['retries']}"),
    ("responses", lambda f: " ".join(f"{k}:{v}" for k, v in f["responses"].items())),
    ("503 during the outage", lambda f: f["503_during_outage"] if f["outage_marks_s"] else "-"),
    ("clicks expected / stored", lambda f: f"{f['clicks_expected']} / {f['clicks_stored']}"),
    ("failed deliveries", lambda f: f["failed_deliveries"]),
    ("latency p50 / p99 (ms)", lambda f: f"{f['latency_ms']['p50']} / {f['latency_ms']['p99']}"),
]  # fmt: skip


def report(results: list[dict]) -> None:
    table = [["", *(r["scenario"] for r in results)]]
    table += [[label, *(str(cell(r)) for r in results)] for label, cell in ROWS]
    widths = [max(len(row[i]) for row in table) + 2 for i in range(len(table[0]))]
    print()
    for row in table:
        cells = zip(row[1:], widths[1:], strict=True)
        print(row[0].ljust(widths[0]) + "".join(cell.rjust(width) for cell, width in cells))
    for r in results:
        if r["outage_marks_s"]:
            print(f"\noutage marks (s into the load): {r['outage_marks_s']}; first 200 after "
                  f"ready: {r['first_200_after_ready_s']} s; last error after ready: "
                  f"{r['last_error_after_ready_s']} s")  # fmt: skip
        for name, ok in r["checks"].items():
            print(f"  [{'ok' if ok else 'FAIL'}] {r['scenario']}: {name}")
        if r["responses"].get("timeout", 0) > 0.01 * r["attempts"]:
            print(f"  note: {r['responses']['timeout']} attempts timed out; 200s came at"
                  f" {r['ok_per_second']}/s for {r['rate_target']:g}/s offered: the server is"
                  " overloaded; senders time out and retry, and give up after the drain"
                  f" ({r['clicks_never_acknowledged']} clicks never acknowledged,"
                  f" {r['clicks_lost_after_200']} lost after a 200)")  # fmt: skip


def machine() -> dict[str, object]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = lines[0].split(":", 1)[1].strip() if lines else ""
    return {"cpus": os.cpu_count(), "cpu": model, "platform": platform.platform(),
            "python": platform.python_version()}  # fmt: skip


def main() -> int:
    args = parse_args()
    # SIGTERM (e.g. a CI timeout) unwinds through the finally below like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.now(UTC)
    pg = ScratchPostgres(WORK_DIR / "pgdata")
    pg.stop_leftover()  # a previous run that was killed: stop its server before deleting it
    remove_tree(WORK_DIR)  # always a fresh cluster
    results = []
    try:
        pg.start()
        setup_django(pg.url("postgres"))
        with pg.connect("postgres") as conn:
            server_version = conn.execute("SHOW server_version").fetchone()[0]
        groups = {"both": ("soak", "outage"), "all": ("soak", "outage", "abuse")}
        for name in groups.get(args.scenario, (args.scenario,)):
            if name == "abuse":
                from reliability_abuse import run_abuse  # needs Django set up

                results.append(run_abuse(pg, args, WORK_DIR))
            else:
                results.append(run_scenario(name, pg, args))
    finally:
        pg.shutdown()
        if not args.keep:
            remove_tree(WORK_DIR)
    if load_results := [r for r in results if r["scenario"] != "abuse"]:
        report(load_results)
    for r in results:
        if r["scenario"] == "abuse":
            from reliability_abuse import report as report_abuse

            report_abuse(r)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"reliability-{started:%Y%m%dT%H%M%SZ}.json"
    document = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine() | {"postgresql": server_version},
        "settings": {"rate": args.rate, "down_seconds": args.down, "timeout": args.timeout,
                     "drain": args.drain, "seed": args.seed, "quick": args.quick,
                     "conn_max_age": os.environ.get("DATABASE_CONN_MAX_AGE", "60 (default)")},
        "scenarios": results,
    }  # fmt: skip
    out.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"\nwrote {out.relative_to(BASE_DIR)}")
    failed = [
        f"{r['scenario']}: {name}" for r in results for name, ok in r["checks"].items() if not ok
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
