"""The web CSV export of every click, and storage per click.

GET /export/clicks.csv?range=all&bots=include with a session cookie (the export is a page view,
not a DRF endpoint), read to the end over loopback: total time, time to first byte, and the RSS
of the gunicorn workers sampled every 50 ms. Which worker serves the request is not known in
advance, so all are sampled and the one that grew most is reported.
"""

import http.client
import threading
import time
from urllib.parse import urlsplit

import psutil
import psycopg
from reliability_infra import Gunicorn

EXPORT_PATH = "/export/clicks.csv?range=all&bots=include"
SAMPLE_SECONDS = 0.05


def storage(conn: psycopg.Connection) -> dict[str, object]:
    """Bytes per click: the click table alone (heap, TOAST, indexes), and with everything kept
    per click for the dashboard (rollups, first-click marks, the pending queue)."""
    count = conn.execute("SELECT count(*) FROM analytics_click").fetchone()[0]
    tables = {}
    for table in ("analytics_click", "analytics_rollup", "analytics_firstclick",
                  "analytics_pendingrollup"):  # fmt: skip
        total, heap = conn.execute(
            "SELECT pg_total_relation_size(%s), pg_relation_size(%s)", (table, table)
        ).fetchone()
        tables[table] = {"total_bytes": total, "heap_bytes": heap}
    rollup_rows = conn.execute("SELECT count(*) FROM analytics_rollup").fetchone()[0]
    click = tables["analytics_click"]
    everything = sum(t["total_bytes"] for t in tables.values())
    return {
        "clicks": count,
        "total_bytes": click["total_bytes"],
        "heap_bytes": click["heap_bytes"],
        "index_and_toast_bytes": click["total_bytes"] - click["heap_bytes"],
        "bytes_per_click": round(click["total_bytes"] / count) if count else None,
        "rollup_rows": rollup_rows,
        "tables": tables,
        "bytes_per_click_with_rollups": round(everything / count) if count else None,
    }


class _RssSampler(threading.Thread):
    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.processes = [psutil.Process(pid) for pid in pids]
        self.start_rss = {p.pid: p.memory_info().rss for p in self.processes}
        self.peak_rss = dict(self.start_rss)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for process in self.processes:
                try:
                    rss = process.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                self.peak_rss[process.pid] = max(self.peak_rss[process.pid], rss)
            time.sleep(SAMPLE_SECONDS)


def run_export(gunicorn: Gunicorn, session_key: str) -> dict[str, object]:
    url = urlsplit(gunicorn.base_url)
    sampler = _RssSampler(gunicorn.worker_pids())
    sampler.start()
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", EXPORT_PATH, headers={"Cookie": f"sessionid={session_key}"})
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"export answered {response.status}: {response.read(500)!r}")
    first_byte = None
    size = lines = 0
    while chunk := response.read1(1 << 16):
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
    total = time.perf_counter() - started
    connection.close()
    sampler.done.set()
    sampler.join()
    pid = max(sampler.peak_rss, key=lambda p: sampler.peak_rss[p] - sampler.start_rss[p])
    mb = 2**20
    return {
        "rows": lines - 1,  # header line; COPY ends every line with \n and quotes embedded ones
        "mb": round(size / mb, 1),
        "total_seconds": round(total, 2),
        "first_byte_seconds": round(first_byte or total, 3),
        "rows_per_second": round((lines - 1) / total),
        "worker_pid": pid,
        "rss_start_mb": round(sampler.start_rss[pid] / mb, 1),
        "rss_peak_mb": round(sampler.peak_rss[pid] / mb, 1),
        "rss_growth_mb": round((sampler.peak_rss[pid] - sampler.start_rss[pid]) / mb, 1),
    }
