"""The processing worker beside gunicorn, and what a run reads of the backlog it works through.

``Worker`` runs ``manage.py run_worker`` with the web server's environment (DATABASE_URL and
WEBHOOK_SPOOL_PATH must be the same: the worker replays the spool the web processes write), as a
process supervisor would: started, stopped with SIGTERM (it finishes its batch), or killed with
SIGKILL and started again. ``Backlog`` reads what waits: deliveries in the spool file and
deliveries queued (``received``) in PostgreSQL. Processes are only ever signalled by the id we
started.
"""

import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psycopg
from reliability_infra import BASE_DIR, BIN, cpu_seconds


class Worker:
    """``manage.py run_worker``, logging to ``log_path`` (appended to across restarts)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None
        self.pids: list[int] = []  # every process started, in order
        self.cpu_of_ended = 0.0  # CPU seconds of the processes that have ended

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.alive else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> int:
        if self.alive:
            raise RuntimeError("the processing worker is already running")
        with self.log_path.open("ab") as log:
            log.write(f"=== run_worker started {datetime.now():%H:%M:%S.%f}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [str(BIN / "python"), "manage.py", "run_worker"],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches only us; we stop it
            )
        self.pids.append(self.process.pid)
        time.sleep(0.2)
        if self.process.poll() is not None:
            raise RuntimeError(f"run_worker exited at start-up; see {self.log_path}")
        return self.process.pid

    def cpu_seconds(self) -> float:
        """CPU time of every worker process started so far (ended ones included)."""
        return self.cpu_of_ended + (cpu_seconds(self.process.pid) if self.alive else 0.0)

    def _ended(self, before: float) -> None:
        self.cpu_of_ended += before
        self._note(f"exited with {self.process.returncode if self.process else None}")

    def kill9(self) -> int:
        """SIGKILL, as a crash or the OOM killer would: whatever batch is open rolls back."""
        if not self.alive:
            raise RuntimeError("the processing worker is not running")
        assert self.process is not None
        used = cpu_seconds(self.process.pid)
        pid = self.process.pid
        os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        self._ended(used)
        return pid

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (the batch in hand finishes), SIGKILL after ``timeout``; never raises.
        The exit status, None if it was not running."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        used = cpu_seconds(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self._ended(used)
        return self.process.returncode

    def _note(self, text: str) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"=== run_worker {text} {datetime.now():%H:%M:%S.%f}\n".encode())


WORKER_MARKERS = (
    "Traceback",
    "Database unavailable, retrying",
    "Moved ",
    "Processed ",
    "failed to process",  # intake's log line for a delivery it stored as failed
    "retrying one by one",  # a batch that failed and was split
    "=== run_worker started",
)


def count_markers(path: Path, markers: tuple[str, ...]) -> dict[str, int]:
    """How many lines of a log contain each marker (only the markers seen)."""
    counts: Counter[str] = Counter()
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", errors="replace") as log:
        for line in log:
            for marker in markers:
                if marker in line:
                    counts[marker.strip()] += 1
    return dict(counts)


def tail(path: Path, lines: int = 8) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(errors="replace").splitlines()[-lines:]


class Backlog:
    """What waits to be processed: the spool file's rows and PostgreSQL's queued deliveries.

    Read with connections of its own (the spool: a read-only SQLite connection per read, which
    never blocks the web processes' writes in WAL mode), so it works during the outage too:
    ``queued`` is None while PostgreSQL does not answer.
    """

    def __init__(
        self, connect: Callable[[], psycopg.Connection], spool_path: Path, table: str
    ) -> None:
        self.connect, self.spool_path, self.table = connect, spool_path, table

    def spooled(self) -> int | None:
        if not self.spool_path.exists():
            return 0
        try:
            uri = f"file:{self.spool_path}?mode=ro"
            with sqlite3.connect(uri, uri=True, timeout=5) as conn:
                return conn.execute("SELECT count(*) FROM delivery").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            return None

    def queued(self) -> tuple[int, float] | None:
        """(deliveries still ``received``, age in seconds of the oldest), None while PostgreSQL
        does not answer."""
        try:
            with self.connect() as conn:
                count, age = conn.execute(
                    f"SELECT count(*), extract(epoch FROM now() - min(received_at))"
                    f" FROM {self.table} WHERE status = 'received'"
                ).fetchone()
        except psycopg.Error:
            return None
        return count, float(age or 0.0)

    def sample(self) -> dict[str, object]:
        queued = self.queued()
        return {
            "spooled": self.spooled(),
            "queued": None if queued is None else queued[0],
            "oldest_queued_s": None if queued is None else round(queued[1], 1),
        }

    def wait_empty(
        self, timeout: float, every: float = 0.5, give_up: Callable[[], bool] = lambda: False
    ) -> float | None:
        """Seconds until the spool and the queue are both empty, None if not within timeout
        (or as soon as ``give_up()``: the worker has died, nothing will empty them)."""
        began = time.monotonic()
        while time.monotonic() - began <= timeout and not give_up():
            queued = self.queued()
            if self.spooled() == 0 and queued is not None and queued[0] == 0:
                return time.monotonic() - began
            time.sleep(every)
        return None
