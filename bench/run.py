"""Performance benchmarks of the dashboard API and the CSV export: `make bench`.

Starts a scratch PostgreSQL under var/bench/ (never the developer's var/pgdata), migrates it,
loads N clicks (BENCH_CLICKS or --clicks, default 1,000,000), starts the web server as README's
deployment runs it (--server, BENCH_SERVER), then runs bench_dashboard, bench_anchor (when chdb
and duckdb are installed), bench_export, bench_remap, bench_intake and bench_freshness against it
(the last two with the processing worker beside it), and with --compare-servers bench_servers.
Figures go to stdout and bench/results/bench-<UTC timestamp>.json. See BENCHMARKS.md.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from bench_anchor import run_anchor
from bench_anchor import summary_lines as anchor_lines
from bench_dashboard import run_dashboard
from bench_export import run_export, storage
from bench_freshness import run_freshness
from bench_freshness import summary_lines as freshness_lines
from bench_intake import run_intake
from bench_intake import summary_lines as intake_lines
from bench_remap import run_remap
from bench_remap import summary_lines as remap_lines
from bench_servers import DEFAULT_SPECS, make_server, run_servers
from bench_servers import summary_lines as servers_lines
from load_clicks import endpoint_ids, load
from reliability_infra import (
    BASE_DIR,
    AppServer,
    ScratchPostgres,
    app_env,
    manage,
    prepare_database,
    remove_tree,
)

# BENCH_WORK_DIR: another scratch directory, so two people's runs never share a cluster.
WORK_DIR = Path(os.environ.get("BENCH_WORK_DIR") or BASE_DIR / "var" / "bench").resolve()
RESULTS_DIR = BASE_DIR / "bench" / "results"
DATABASE = "clicktrack_bench"
# The deployment README describes (see BENCHMARKS.md, "Which server"); bench_servers compares.
DEFAULT_SERVER = "granian:2x4"

# A superuser with a DRF token (stats API) and a session (the export is a page view, which
# takes a session cookie, not a token). Printed as "token session" on the last line.
_CREDENTIALS = """
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass-1")
client = Client()
client.force_login(user)
print(Token.objects.create(user=user).key, client.cookies["sessionid"].value)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = int(os.environ.get("BENCH_CLICKS") or 1_000_000)
    parser.add_argument("--clicks", type=int, default=default, help="clicks to load")
    parser.add_argument("--pages", type=int, default=3, help="page loads per user per case")
    parser.add_argument("--users", type=int, default=4, help="concurrent simulated users")
    parser.add_argument("--skip-export", action="store_true")
    # At 10M on 2 cores the dashboard pass alone takes over an hour; load, export and storage
    # then still show whether export memory stays flat.
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument("--skip-intake", action="store_true", help="webhook intake (needs wrk)")
    parser.add_argument("--skip-freshness", action="store_true", help="webhook to stats API delay")
    parser.add_argument("--skip-remap", action="store_true", help="unifying the busiest campaigns")
    parser.add_argument(
        "--skip-anchor", action="store_true", help="the page's answers from chDB and DuckDB"
    )
    parser.add_argument(
        "--server",
        default=os.environ.get("BENCH_SERVER") or DEFAULT_SERVER,
        help="web server for every pass: gunicorn:WxT, granian:WxT[:bpN] or uvicorn:W "
        f"(default {DEFAULT_SERVER}, or BENCH_SERVER)",
    )
    parser.add_argument(
        "--compare-servers",
        nargs="?",
        const=DEFAULT_SPECS,
        metavar="SPECS",
        help=f"also run bench_servers over these comma-separated specs (default {DEFAULT_SPECS})",
    )
    parser.add_argument("--keep", action="store_true", help="keep var/bench (and its data)")
    # Raw-SQL baseline repetitions per call: at 10M a year's scan takes seconds, so 1 there.
    parser.add_argument("--baseline-reps", type=int, default=3)
    parser.add_argument(
        "--closed-counts-kept",
        type=int,
        default=None,
        help="the server's STATS_CLOSED_COUNTS_KEPT (0: no answers kept for closed days)",
    )
    return parser.parse_args()


def machine() -> dict[str, object]:
    cpu = platform.processor()
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": cpu,
        "python": platform.python_version(),
    }


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True
    )
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=BASE_DIR, capture_output=True)
    return done.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    results: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "clicks": args.clicks,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    pg = ScratchPostgres(WORK_DIR / "pgdata")
    server: AppServer | None = None
    remove_tree(WORK_DIR) if not (WORK_DIR / "pgdata").exists() else pg.stop_leftover()
    try:
        pg.start()
        pg.create_database(DATABASE)
        # The web processes and the worker share the spool file: the same env for both.
        env = app_env(pg.url(DATABASE)) | {"WEBHOOK_SPOOL_PATH": str(WORK_DIR / "spool.sqlite3")}
        # The kept answers of closed days (analytics/closed_counts.py) go with the scratch data.
        env["CLICKTRACK_VAR_DIR"] = str(WORK_DIR)
        if args.closed_counts_kept is not None:
            env["STATS_CLOSED_COUNTS_KEPT"] = str(args.closed_counts_kept)
            results["closed_counts_kept"] = args.closed_counts_kept
        print(f"Scratch PostgreSQL at {pg.socket_dir}; migrating", flush=True)
        endpoints = prepare_database(env)
        token, session = manage(env, "shell", "-c", _CREDENTIALS).split()[-2:]
        print(f"Loading {args.clicks:,} clicks", flush=True)
        with pg.connect(DATABASE) as conn:
            results["load"] = load(conn, args.clicks, endpoint_ids(conn))
        # A bulk load bypasses intake, so its campaigns get their canonical campaigns and the
        # rollups are computed afterwards, as after a restore or an import: the commands a
        # deployment would run.
        manage(env, "remap_campaigns")
        print("Rebuilding the rollups", flush=True)
        rebuild_started = time.monotonic()
        manage(env, "rebuild_rollups", timeout=3 * 3600)
        results["rollups"] = {"rebuild_seconds": round(time.monotonic() - rebuild_started, 1)}
        with pg.connect(DATABASE) as conn:
            conn.execute("VACUUM ANALYZE analytics_rollup")
            results["storage"] = storage(conn)
        print(f"  {results['load']}", flush=True)
        server = make_server(args.server, env, WORK_DIR / "server.log")
        results["server"] = server.describe()
        server.start("/accounts/login/")
        print(f"{server.describe()} at {server.base_url}, workers {server.worker_pids()}",
              flush=True)  # fmt: skip
        if not args.skip_dashboard:
            results["dashboard"] = run_dashboard(
                server.base_url,
                token,
                lambda: pg.connect(DATABASE),
                args.users,
                args.pages,
                args.baseline_reps,
            )
        if not args.skip_anchor:
            # Before export, remap and intake: the clicks are still those the load wrote.
            results["anchor"] = run_anchor(
                server.base_url, token, lambda: pg.connect(DATABASE), WORK_DIR
            )
        if not args.skip_export:
            results["export"] = run_export(server, session)
        if not args.skip_remap:
            print("Remap: unifying the busiest campaign of each sender, 3 runs", flush=True)
            results["remap"] = run_remap(server.base_url, token, env, lambda: pg.connect(DATABASE))
        if not args.skip_intake:
            print("Intake: wrk, worker drain, pgbench, open loop", flush=True)
            results["intake"] = run_intake(server, pg, DATABASE, env, endpoints, WORK_DIR)
        if not args.skip_freshness:
            print("Freshness: webhook 200 to stats API, the worker running", flush=True)
            results["freshness"] = run_freshness(
                server, env, endpoints, token, WORK_DIR, lambda: pg.connect(DATABASE)
            )
        server.stop()
        if args.compare_servers:
            specs = [spec.strip() for spec in args.compare_servers.split(",") if spec.strip()]
            print(f"Servers: {', '.join(specs)}", flush=True)
            results["servers"] = run_servers(specs, pg, DATABASE, env, endpoints, WORK_DIR)
    finally:
        if server is not None:
            server.stop()
        pg.shutdown()
        if not args.keep:
            remove_tree(WORK_DIR)
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    # Other work on the box (a reliability run, a test suite) skews every figure: keep a trace.
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"bench-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_summary(results)
    print(f"\nFigures: {path.relative_to(BASE_DIR)}")
    return 0


def print_summary(results: dict) -> None:
    load_ = results["load"]
    print(f"\n== clicktrack bench: {results['clicks']:,} clicks, {results['machine']['nproc']} "
          f"cores, {results['commit']}, {results['date']} ==")  # fmt: skip
    print(f"load: {load_['total_seconds']} s ({load_['rows_per_second']:,} rows/s overall, "
          f"{load_['insert_rows_per_second']:,} rows/s insert)")  # fmt: skip
    st = results["storage"]
    print(f"rollups: rebuilt in {results['rollups']['rebuild_seconds']} s, "
          f"{st['rollup_rows']:,} rows")  # fmt: skip
    print(
        f"storage: {st['bytes_per_click']} bytes/click (click table), "
        f"{st['bytes_per_click_with_rollups']} with rollups, first clicks and queue"
    )
    print(f"load average (1, 5, 15 min) at start {results['load_average_at_start']}, "
          f"at end {results['load_average_at_end']}")  # fmt: skip
    dash = results.get("dashboard")
    if dash is None:
        print("dashboard: skipped")
    else:
        _print_dashboard(dash)
    if "export" in results:
        e = results["export"]
        print(f"\nexport {e['rows']:,} rows: {e['total_seconds']} s, first byte "
              f"{e['first_byte_seconds']} s, {e['mb']} MB, worker RSS {e['rss_start_mb']} -> "
              f"peak {e['rss_peak_mb']} MB (+{e['rss_growth_mb']} MB)")  # fmt: skip
    lines = anchor_lines(results.get("anchor")) + remap_lines(results.get("remap"))
    lines += intake_lines(results.get("intake")) + freshness_lines(results.get("freshness"))
    for line in lines + servers_lines(results.get("servers")):
        print(line)


def _print_dashboard(dash: dict) -> None:
    print(f"\n{'call alone':<22}{'API p50':>9}{'API p95':>9}{'SQL p50':>9}{'ratio':>7}"
          "  (ms, one request at a time; ratio = API p50 / SQL p50)")  # fmt: skip
    for kind, row in dash["per_kind"].items():
        print(f"{kind:<22}{row['serial_p50_ms']:>9}{row['serial_p95_ms']:>9}"
              f"{row['baseline_p50_ms']:>9}{row['serial_ratio']:>7}")  # fmt: skip
    page = dash["page"]
    print(f"whole page (one call), {dash['users']} users: p50 {page['p50_ms']} ms, p95 "
          f"{page['p95_ms']} ms; alone p50 {page['serial_p50_ms']} ms")  # fmt: skip
    print(f"worst page p95: {dash['worst_page_p95']}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
