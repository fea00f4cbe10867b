"""The anchor: every dashboard page's 10 answers from the API, chDB and DuckDB, timed and compared.

The clicks are exported once from the scratch PostgreSQL and loaded into chDB (ClickHouse in
process, a MergeTree table ordered by time) and DuckDB (anchor_engines). For each range and filter
set of bench_dashboard, the page is asked one call at a time: the API's page endpoint over HTTP
(the server run.py started, reading its rollups) answers the 10 questions in one call, each
engine in 10 SQL queries (anchor_sql), each repeated and timed (median). The answers must be
equal: counts exactly, breakdown rows by value with rows of equal clicks compared as sets. A
mismatch is printed with its details and counted: it is a finding about the API (or the
anchor), never smoothed over.

A page's time is the median of its API call, and for an engine the sum of its 10 queries'
medians, so API/chDB says how far the API is from what a columnar engine answers on the same
machine, the API's HTTP, authentication and JSON included.
"""

import asyncio
import shutil
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import psycopg
from anchor_engines import ChdbEngine, DuckEngine, Engine, available, export_clicks
from anchor_sql import Window, breakdown_sql, bucket_starts, summary_sql, timeseries_sql, window
from bench_dashboard import FILTER_SETS, KINDS, PAGE, RANGES, TZ, _get, _params, _path

REPS = 3
LIMIT = 10
SKIPPED = "skipped: pip install -e '.[bench]' (chdb and duckdb)"
# At most this many differing buckets or rows are printed per mismatch.
SHOWN = 6

Answer = dict[str, object]


def top_campaign(conn: psycopg.Connection) -> str:
    """The most clicked canonical campaign, as bench_dashboard picks it (also when skipped)."""
    top = conn.execute(
        "SELECT c.canonical_id FROM analytics_click k JOIN analytics_campaign c"
        " ON c.id = k.campaign_id GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    return str(top[0])


def sql_for(kind: str, engine: Engine, w: Window, filters: dict[str, str]) -> str:
    if kind == "summary":
        return summary_sql(engine.dialect, w, filters)
    if kind == "timeseries":
        return timeseries_sql(engine.dialect, w, filters)
    return breakdown_sql(engine.dialect, w, filters, kind.split(":")[1], LIMIT)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def api_answer(kind: str, page: dict) -> Answer:
    """The figures of one of a page's answers (labels, shares and changes follow from them)."""
    if kind in ("summary", "timeseries"):
        body = page[kind]
    else:
        dimension = kind.split(":")[1]
        body = next(b for b in page["breakdowns"] if b["dimension"] == dimension)
    if kind == "summary":
        periods = [body["period"], body["previous_period"]]
        figures = ("clicks", "unique", "bots", "qr")
        return {
            "period": [
                _iso(datetime.fromisoformat(p[k])) for p in periods for k in ("start", "end")
            ],
            "current": {k: body["current"][k] for k in figures},
            "previous": {k: body["previous"][k] for k in figures},
        }
    if kind == "timeseries":
        points = {
            name: [
                (datetime.fromisoformat(p["t"]).replace(tzinfo=None).isoformat(), p["clicks"],
                 p["unique"])
                for p in body[name]
            ]
            for name in ("current", "previous")
        }  # fmt: skip
        return {"bucket": body["bucket"], **points}
    rows = [(r["value"], r["clicks"], r["unique"]) for r in body["rows"]]
    return {"rows": rows, "total": [body["total"]["clicks"], body["total"]["unique"]]}


def sql_answer(kind: str, rows: list[tuple], w: Window, now: datetime) -> Answer:
    """The same figures from an engine's rows; the time series gets the API's empty buckets."""
    if kind == "summary":
        counts = [int(x) for x in rows[0]]
        period = [w.start, w.end, w.previous_start, w.previous_end]
        figures = ("clicks", "unique", "bots", "qr")
        return {
            "period": [_iso(p) for p in period],
            "current": dict(zip(figures, counts[:4], strict=True)),
            "previous": dict(zip(figures, counts[4:], strict=True)),
        }
    if kind == "timeseries":
        found = {}
        for is_current, t, clicks, unique in rows:
            start = t if isinstance(t, datetime) else datetime.fromisoformat(str(t))
            found[bool(is_current), start.isoformat()] = (int(clicks), int(unique))
        local_now = now.astimezone(w.tz).replace(tzinfo=None)
        # Buckets starting after now are left out; the previous line is as long as the current.
        current = [t for t in bucket_starts(w.start, w.end, w.tz, w.bucket) if t <= local_now]
        previous = bucket_starts(w.previous_start, w.previous_end, w.tz, w.bucket)[: len(current)]
        return {"bucket": w.bucket} | {
            name: [(t.isoformat(), *found.get((flag, t.isoformat()), (0, 0))) for t in starts]
            for name, flag, starts in (("current", True, current), ("previous", False, previous))
        }
    values = [("" if v is None else str(v), int(c), int(u)) for v, c, u, _, _ in rows]
    total = [int(rows[0][3]), int(rows[0][4])] if rows else [0, 0]
    return {"rows": values, "total": total}


def _ties(rows: list) -> list[tuple[int, set]]:
    """Rows as runs of equal clicks, each run a set: the order within a tie is not compared."""
    runs: list[tuple[int, set]] = []
    for row in rows:
        row = tuple(row)
        if runs and runs[-1][0] == row[1]:
            runs[-1][1].add(row)
        else:
            runs.append((row[1], {row}))
    return runs


def differences(api: Answer, other: Answer) -> list[str]:
    """What differs, readably; [] when the answers are equal."""
    diffs = []
    for key in api:
        a, b = api[key], other[key]
        if key == "rows":
            a, b = _ties(a), _ties(b)
        if a == b:
            continue
        if isinstance(a, dict):
            diffs += [f"{key} {k}: API {a[k]} != {b[k]}" for k in a if a[k] != b[k]]
        elif key in ("current", "previous", "rows") and len(a) == len(b):
            pairs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
            diffs += [f"{key}: API {x} != {y}" for x, y in pairs[:SHOWN]]
            diffs += [f"{key}: ... {len(pairs) - SHOWN} more"] if len(pairs) > SHOWN else []
        else:
            diffs.append(f"{key}: API {a} != {b}")
    return diffs


def _median_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 2)


def _timed(engine: Engine, sql: str, reps: int) -> tuple[list[float], list[tuple]]:
    seconds, rows = [], []
    for _ in range(reps):
        started = time.perf_counter()
        rows = engine.rows(sql)
        seconds.append(time.perf_counter() - started)
    return seconds, rows


async def _page(
    http: aiohttp.ClientSession, base: str, engines: list[Engine], case: tuple, reps: int
) -> tuple[dict[str, object], list[dict]]:
    """One page: the API call's time, each engine's time per question (ms), the mismatches."""
    range_, name, filters = case
    api_seconds, page = [], None
    for _ in range(reps):
        seconds, answer = await _get(http, base + _path(PAGE), _params(range_, filters, PAGE))
        api_seconds.append(seconds)
        page = page or answer
    now = datetime.now(UTC)
    if range_ == "24h":
        # A rolling window ending at the API's clock: take the instant it reports.
        now = datetime.fromisoformat(page["summary"]["period"]["end"]).astimezone(UTC)
    w = window(range_, now, ZoneInfo(TZ))
    times: dict[str, object] = {"API": _median_ms(api_seconds)}
    mismatches = []
    for engine in engines:
        per_kind = {}
        for kind in KINDS:
            seconds, rows = _timed(engine, sql_for(kind, engine, w, filters), reps)
            per_kind[kind] = _median_ms(seconds)
            diffs = differences(api_answer(kind, page), sql_answer(kind, rows, w, now))
            if diffs:
                mismatches.append({"range": range_, "filters": name, "call": kind,
                                   "engine": engine.dialect.name, "diffs": diffs})  # fmt: skip
        times[engine.dialect.name] = per_kind
    return times, mismatches


async def _cases(
    base: str, token: str, engines: list[Engine], filter_sets: dict, reps: int
) -> tuple[list[dict], list[dict]]:
    rows, mismatches = [], []
    headers = {"Authorization": f"Token {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for range_ in RANGES:
            for name, filters in filter_sets.items():
                times, found = await _page(http, base, engines, (range_, name, filters), reps)
                for mismatch in found:
                    print(f"  MISMATCH {range_} {name} {mismatch['call']} API vs "
                          f"{mismatch['engine']}:")  # fmt: skip
                    print("\n".join(f"    {d}" for d in mismatch["diffs"]), flush=True)
                mismatches += found
                rows.append(
                    _case_row(range_, name, times, {(m["call"], m["engine"]) for m in found})
                )
                print("  " + _line(rows[-1]), flush=True)
    return rows, mismatches


def _case_row(range_: str, name: str, times: dict, differing: set) -> dict:
    sums = {s: round(sum(times[s].values()), 1) for s in ("chDB", "DuckDB")}
    return {
        "range": range_, "filters": name,
        "api_ms": times["API"], "chdb_ms": sums["chDB"], "duckdb_ms": sums["DuckDB"],
        "ratio_api_chdb": round(times["API"] / sums["chDB"], 2) if sums["chDB"] else None,
        "equal": not differing,
        "differing_calls": sorted(f"{call} ({engine})" for call, engine in differing),
        "engine_calls_ms": {s: times[s] for s in ("chDB", "DuckDB")},
    }  # fmt: skip


HEADER = f"{'range':>5} {'filters':<15}{'API':>9}{'chDB':>9}{'DuckDB':>9}{'API/chDB':>10}  equal"


def _line(row: dict) -> str:
    return (f"{row['range']:>5} {row['filters']:<15}{row['api_ms']:>9}{row['chdb_ms']:>9}"
            f"{row['duckdb_ms']:>9}{row['ratio_api_chdb']!s:>10}  "
            f"{'yes' if row['equal'] else 'NO'}")  # fmt: skip


def _load(work: Path, connect: Callable[[], psycopg.Connection]) -> tuple[list[Engine], dict]:
    """Export once, load both engines, check their rows against PostgreSQL's."""
    work.mkdir(parents=True, exist_ok=True)
    csv = work / "clicks.csv"
    with connect() as conn:
        export = export_clicks(conn, csv)
    engines: list[Engine] = [ChdbEngine(work / "chdb"), DuckEngine(work / "clicks.duckdb")]
    loads = {e.dialect.name: round(e.load(csv), 2) for e in engines}
    checks = {e.dialect.name: e.check() for e in engines}
    csv.unlink()
    bad = {name: got for name, got in checks.items() if got != export["check"]}
    return engines, {"export": export, "load_seconds": loads, "load_check_failed": bad}


def run_anchor(
    base_url: str,
    token: str,
    connect: Callable[[], psycopg.Connection],
    work_dir: Path,
    reps: int = REPS,
) -> dict[str, object]:
    if not available():
        print(f"Anchor: {SKIPPED}", flush=True)
        return {"skipped": SKIPPED}
    work = work_dir / "anchor"
    print("Anchor: exporting the clicks, loading chDB and DuckDB", flush=True)
    engines, loaded = _load(work, connect)
    e = loaded["export"]
    print(f"  export {e['check'][0]:,} rows {e['mb']} MB in {e['seconds']} s; loads (s) "
          f"{loaded['load_seconds']}", flush=True)  # fmt: skip
    if loaded["load_check_failed"]:
        print(f"  LOAD CHECK FAILED (PostgreSQL {e['check']}): {loaded['load_check_failed']}")
    with connect() as conn:
        filter_sets = {name: dict(f) for name, f in FILTER_SETS.items()}
        filter_sets["campaign"]["campaign"] = top_campaign(conn)
    print(f"  {HEADER}  (ms: the API's page call, the engines' 10 queries summed; medians of "
          f"{reps})", flush=True)  # fmt: skip
    try:
        cases, mismatches = asyncio.run(_cases(base_url, token, engines, filter_sets, reps))
    finally:
        for engine in engines:
            engine.close()
        shutil.rmtree(work, ignore_errors=True)
    return loaded | {
        "reps": reps, "tz": TZ, "filter_sets": filter_sets, "cases": cases,
        "mismatches": len(mismatches), "mismatch_details": mismatches,
        "equal_cases": sum(c["equal"] for c in cases),
    }  # fmt: skip


def summary_lines(anchor: dict | None) -> list[str]:
    """The per-case table for run.py's summary."""
    if anchor is None:
        return []
    if "skipped" in anchor:
        return [f"\nanchor: {anchor['skipped']}"]
    e = anchor["export"]
    lines = [
        f"\nanchor (API page call vs chDB and DuckDB's 10 queries, one at a time, median of "
        f"{anchor['reps']}): "
        f"export {e['seconds']} s, loads {anchor['load_seconds']} s",
        HEADER,
        *(_line(row) for row in anchor["cases"]),
        f"equal: {anchor['equal_cases']}/{len(anchor['cases'])} cases, "
        f"{anchor['mismatches']} mismatching answers",
    ]
    if anchor["load_check_failed"]:
        lines.append(f"LOAD CHECK FAILED: {anchor['load_check_failed']} vs {e['check']}")
    return lines
