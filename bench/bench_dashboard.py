"""Dashboard latency through the public stats API, against a running server, plus a baseline.

A page load is what the browser does (analytics/static/analytics/dashboard/main.js): one call to
the page endpoint for the summary, the time series and the 8 breakdowns (limit=10). Several
simulated users load pages concurrently, for each preset range and filter set. Each of the
page's 10 questions is also asked alone from its own endpoint, one request at a time (serial),
and answered by hand-written SQL straight over analytics_click over one psycopg connection:
ratio = serial p50 / SQL p50 says what the rollups and the app make of the scan itself.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import psycopg

RANGES = ("24h", "7d", "30d", "90d", "12m")
# A viewer in India: local midnight is 18:30 UTC, so day buckets never line up with UTC days,
# the least favourable case for rollups kept per UTC period (UTC viewers get whole days).
TZ = "Asia/Kolkata"
# "campaign" is filled in by run_dashboard with the most clicked campaign's id.
FILTER_SETS = {"none": {}, "country": {"country": "US"}, "campaign": {"campaign": ""},
               "country+device": {"country": "US", "device": "mobile"}}  # fmt: skip
DIMENSIONS = ("campaign", "country", "device", "referer", "sender", "browser", "os", "city")
KINDS = ("summary", "timeseries", *(f"breakdown:{d}" for d in DIMENSIONS))
COLUMNS = {"campaign": "campaign_id"} | {d: d for d in DIMENSIONS if d != "campaign"}
BASELINE_REPS = 3
PAGE = "page"
PAGE_BREAKDOWNS = ",".join(f"{d}:10" for d in DIMENSIONS)


def _path(kind: str) -> str:
    if kind == PAGE:
        return "/api/stats/page/"
    if kind.startswith("breakdown:"):
        return f"/api/stats/breakdown/{kind.split(':')[1]}/"
    return f"/api/stats/{kind}/"


def _params(range_: str, filters: dict[str, str], kind: str) -> dict[str, str]:
    extra = {"limit": "10"} if kind.startswith("breakdown:") else {}
    if kind == PAGE:
        extra = {"breakdowns": PAGE_BREAKDOWNS}
    return {"range": range_, "tz": TZ, **filters, **extra}


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile in ms (values in seconds)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index] * 1000, 1)


async def _get(session: aiohttp.ClientSession, url: str, params: dict[str, str]) -> tuple:
    started = time.perf_counter()
    async with session.get(url, params=params) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"{url} {params} answered {response.status}: {body}")
    return time.perf_counter() - started, body


async def _page(session: aiohttp.ClientSession, base: str, range_: str, filters: dict) -> float:
    """One dashboard page: its one call's seconds."""
    seconds, _ = await _get(session, base + _path(PAGE), _params(range_, filters, PAGE))
    return seconds


async def _case(base: str, token: str, range_: str, filters: dict, users: int, pages: int) -> dict:
    headers = {"Authorization": f"Token {token}"}
    # Per user a connection pool as a browser has (6 per host).
    sessions = [
        aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=6))
        for _ in range(users)
    ]
    try:
        # The window and bucket the API used, for the SQL baseline. The case's first load: the
        # serving process reads and keeps its closed days (analytics/closed_counts.py).
        first, page = await _get(sessions[0], base + _path(PAGE), _params(range_, filters, PAGE))
        summary, series = page["summary"], page["timeseries"]
        serial: dict[str, list[float]] = {k: [] for k in (PAGE, *KINDS)}
        for _ in range(BASELINE_REPS):
            for kind in serial:
                seconds, _ = await _get(
                    sessions[0], base + _path(kind), _params(range_, filters, kind)
                )
                serial[kind].append(seconds)

        async def user(session: aiohttp.ClientSession) -> list[float]:
            return [await _page(session, base, range_, filters) for _ in range(pages)]

        loads = [p for pages_ in await asyncio.gather(*(user(s) for s in sessions)) for p in pages_]
    finally:
        for session in sessions:
            await session.close()
    return {
        "window": summary["period"], "previous": summary["previous_period"],
        "bucket": series["bucket"], "tz": series["tz"],
        "first": first,
        "page": loads,
        "serial": serial,
    }  # fmt: skip


def _where(filters: dict[str, str]) -> tuple[str, list[Any]]:
    sql, params = "", []
    for key, value in filters.items():
        if key == "campaign":  # a canonical campaign: the sender campaigns it holds, as the app
            sql += " AND campaign_id IN (SELECT id FROM analytics_campaign WHERE canonical_id = %s)"
        else:
            sql += f" AND {COLUMNS[key]} = %s"
        params.append(value)
    return sql, params


def baseline_queries(case: dict, filters: dict[str, str]) -> dict[str, list[tuple[str, list]]]:
    """Hand-written SQL giving each call's numbers: the summary's single scan of both periods,
    the two time series, and per dimension top 10 with totals."""
    dims, dim_params = _where(filters)
    start, end = case["window"]["start"], case["window"]["end"]
    prev = case["previous"]["start"] if case["previous"] else start
    summary = """
        SELECT count(*) FILTER (WHERE occurred_at >= %(s)s AND NOT is_bot),
               count(*) FILTER (WHERE occurred_at >= %(s)s AND NOT is_bot AND is_unique),
               count(*) FILTER (WHERE occurred_at >= %(s)s AND is_bot),
               count(*) FILTER (WHERE occurred_at >= %(s)s AND NOT is_bot AND is_qr),
               count(*) FILTER (WHERE occurred_at < %(s)s AND NOT is_bot),
               count(*) FILTER (WHERE occurred_at < %(s)s AND NOT is_bot AND is_unique),
               count(*) FILTER (WHERE occurred_at < %(s)s AND is_bot),
               count(*) FILTER (WHERE occurred_at < %(s)s AND NOT is_bot AND is_qr)
        FROM analytics_click WHERE occurred_at >= %(p)s AND occurred_at < %(e)s {dims}"""
    named = {"s": start, "e": end, "p": prev}
    # psycopg cannot mix named and positional placeholders: inline the dimension values as
    # named ones too.
    dim_sql = dims
    for i, value in enumerate(dim_params):
        dim_sql = dim_sql.replace("%s", f"%(d{i})s", 1)
        named[f"d{i}"] = value
    queries: dict[str, list[tuple[str, dict]]] = {
        "summary": [(summary.replace("{dims}", dim_sql), named)]
    }
    series = f"""
        SELECT date_trunc(%(b)s, occurred_at AT TIME ZONE %(tz)s) AS t, count(*),
               count(*) FILTER (WHERE is_unique)
        FROM analytics_click WHERE occurred_at >= %(from)s AND occurred_at < %(to)s
          AND NOT is_bot {dim_sql} GROUP BY 1"""
    periods = [(start, end)] + ([(prev, start)] if case["previous"] else [])
    queries["timeseries"] = [
        (series, named | {"b": case["bucket"], "tz": case["tz"], "from": a, "to": b})
        for a, b in periods
    ]
    for dim in DIMENSIONS:
        column = COLUMNS[dim]
        queries[f"breakdown:{dim}"] = [
            (
                f"""
            SELECT {column}, count(*) AS clicks, count(*) FILTER (WHERE is_unique),
                   sum(count(*)) OVER (), sum(count(*) FILTER (WHERE is_unique)) OVER ()
            FROM analytics_click WHERE occurred_at >= %(s)s AND occurred_at < %(e)s
              AND NOT is_bot {dim_sql}
            GROUP BY {column} ORDER BY clicks DESC, {column} NULLS LAST LIMIT 10""",
                named,
            )
        ]
    return queries


def run_baseline(
    connect: Callable[[], psycopg.Connection], case: dict, filters: dict, reps: int
) -> dict:
    timings: dict[str, list[float]] = {}
    with connect() as conn:
        for kind, statements in baseline_queries(case, filters).items():
            timings[kind] = []
            for _ in range(reps):
                started = time.perf_counter()
                for sql, params in statements:
                    conn.execute(sql, params).fetchall()
                timings[kind].append(time.perf_counter() - started)
    return timings


def run_dashboard(
    base_url: str,
    token: str,
    connect: Callable[[], psycopg.Connection],
    users: int = 4,
    pages: int = 3,
    baseline_reps: int = BASELINE_REPS,
) -> dict[str, object]:
    """Every range x filter set; figures per case and aggregated per call kind."""
    with connect() as conn:
        # The campaign filter takes canonical campaigns (one per sender campaign after a load).
        top = conn.execute(
            "SELECT c.canonical_id FROM analytics_click k JOIN analytics_campaign c"
            " ON c.id = k.campaign_id GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    FILTER_SETS["campaign"]["campaign"] = str(top[0])
    cases = []
    all_serial: dict[str, list[float]] = {k: [] for k in (PAGE, *KINDS)}
    all_sql: dict[str, list[float]] = {k: [] for k in KINDS}
    all_pages: list[float] = []
    for range_ in RANGES:
        for name, filters in FILTER_SETS.items():
            case = asyncio.run(_case(base_url, token, range_, filters, users, pages))
            sql = run_baseline(connect, case, filters, baseline_reps)
            for kind in KINDS:
                all_sql[kind] += sql[kind]
            for kind, seconds in case["serial"].items():
                all_serial[kind] += seconds
            all_pages += case["page"]
            calls = {
                k: {"serial_p50_ms": pct(case["serial"][k], 50), "baseline_p50_ms": pct(sql[k], 50)}
                for k in KINDS
            }
            row = {"range": range_, "filters": name, "bucket": case["bucket"],
                   "page_p50_ms": pct(case["page"], 50), "page_p95_ms": pct(case["page"], 95),
                   "page_serial_p50_ms": pct(case["serial"][PAGE], 50),
                   "page_first_ms": round(case["first"] * 1000, 1),
                   "calls": calls}  # fmt: skip
            print(f"  {range_:>4} {name:<15} page p50 {row['page_p50_ms']:>7} ms "
                  f"p95 {row['page_p95_ms']:>7} ms; alone {row['page_serial_p50_ms']} ms, "
                  f"first {row['page_first_ms']} ms",
                  flush=True)  # fmt: skip
            cases.append(row)
    per_kind = {}
    for kind in KINDS:
        serial50, sql50 = pct(all_serial[kind], 50), pct(all_sql[kind], 50)
        per_kind[kind] = {
            "serial_p50_ms": serial50, "serial_p95_ms": pct(all_serial[kind], 95),
            "baseline_p50_ms": sql50, "serial_ratio": round(serial50 / sql50, 1) if sql50 else None,
        }  # fmt: skip
    worst_page = max(cases, key=lambda c: c["page_p95_ms"])
    return {
        "users": users, "pages_per_user_per_case": pages,
        "mode": "one page endpoint call per page load, over loopback HTTP, aiohttp clients",
        "tz": TZ,
        "filter_sets": FILTER_SETS,
        "per_kind": per_kind,
        "page": {"p50_ms": pct(all_pages, 50), "p95_ms": pct(all_pages, 95),
                 "serial_p50_ms": pct(all_serial[PAGE], 50)},
        "worst_page_p95": {"range": worst_page["range"], "filters": worst_page["filters"],
                           "p95_ms": worst_page["page_p95_ms"]},
        "cases": cases,
    }  # fmt: skip
