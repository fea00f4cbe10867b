import gc
import os
import signal
import threading
import time
from datetime import datetime
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from analytics import acceptance, intake, rollups

_OUTAGE = (OperationalError, InterfaceError)


class Command(BaseCommand):
    help = (
        "The processing worker: moves deliveries spooled during a database outage into "
        "PostgreSQL, turns accepted deliveries into clicks in batches, and keeps the rollups "
        "fresh. Run one beside the web server on every host that receives webhooks; without it "
        "deliveries are accepted but not counted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Empty the spool and the queue, update the rollups, then exit.",
        )
        parser.add_argument(
            "--idle",
            type=float,
            default=0.1,
            help="Seconds to wait when there is nothing to process (default 0.1).",
        )
        parser.add_argument(
            "--gather",
            type=float,
            default=0.05,
            help="Seconds to wait after a partial batch, so the next one is fuller (default 0.05).",
        )
        parser.add_argument(
            "--nice",
            type=int,
            default=10,
            help="Lower the worker's CPU priority by this much, so the web server's answers to "
            "senders come first on a shared host (default 10; 0 keeps it).",
        )
        parser.add_argument(
            "--rollup-interval",
            type=float,
            default=1.0,
            help="Seconds between rollup updates (default 1).",
        )

    def handle(self, *args: object, **options: object) -> None:
        # A batch makes millions of small objects that live until it commits. At CPython's
        # default thresholds the cyclic collector runs thousands of times a batch and scans
        # them all, a quarter of the worker's CPU (BENCHMARKS.md): collect rarely, and never
        # scan what start-up built.
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        self._running = threading.Event()
        self._running.set()
        if options["once"]:
            self._drain()
            return
        if options["nice"]:
            # Answering senders comes first: on a busy host the web server gets the CPU and
            # processing lags (the queue absorbs it), never the other way round.
            os.nice(options["nice"])
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop)
        # Rollups are mostly PostgreSQL's work and parsing is Python's: in a thread of their own
        # (with their own connection) the two overlap instead of taking turns.
        roller = threading.Thread(
            target=self._roll_up, args=(options["rollup_interval"],), name="rollups", daemon=True
        )
        roller.start()
        while self._running.is_set():
            try:
                done = self._round()
            except _OUTAGE as exc:
                self._wait_for_database(exc)
                continue
            if not done:
                time.sleep(options["idle"])
            elif done < settings.WORKER_BATCH_SIZE:
                # Each batch costs a few statements whatever its size; under a steady stream,
                # a moment's wait makes batches fuller and the worker cheaper per click, for
                # 50 ms more before a click counts.
                time.sleep(options["gather"])
        roller.join()

    def _drain(self) -> None:
        while self._round():
            pass
        rollups.update()

    def _round(self) -> int:
        """Replay the spool and process one batch; how many deliveries that handled."""
        started = time.monotonic()
        moved = acceptance.replay_spool()
        outcome = intake.process_queued(settings.WORKER_BATCH_SIZE)
        if moved:
            self._log(f"Moved {moved} spooled deliveries into PostgreSQL.")
        if outcome.total:
            elapsed = (time.monotonic() - started) * 1000
            self._log(
                f"Processed {outcome.total} deliveries ({outcome.clicks_created} clicks) "
                f"in {elapsed:.0f} ms."
            )
        return moved + outcome.total

    def _roll_up(self, interval: float) -> None:
        """Dashboards count clicks not yet rolled up from the click table, so rollups only need
        to keep up, not to be instant."""
        try:
            while self._running.is_set():
                started = time.monotonic()
                try:
                    rollups.update()
                except _OUTAGE as exc:
                    self._wait_for_database(exc)
                    continue
                self._running.wait(max(0.0, interval - (time.monotonic() - started)))
                # Event.wait returns early only on stop; keep looping otherwise.
            rollups.update()  # what the last batches stored, before exiting
        except _OUTAGE:
            pass
        finally:
            connection.close()

    def _wait_for_database(self, exc: Exception) -> None:
        # PostgreSQL restarts or is away: web processes spool meanwhile; wait and retry.
        self._log(f"Database unavailable, retrying: {exc}", error=True)
        close_old_connections()
        time.sleep(1)

    def _log(self, message: str, *, error: bool = False) -> None:
        line = f"{datetime.now().astimezone():%Y-%m-%d %H:%M:%S%z} {message}"
        (self.stderr if error else self.stdout).write(line)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        # The batch in hand finishes and commits; a kill -9 instead rolls it back, and its
        # deliveries, still queued, are processed on the next start.
        self._running.clear()
