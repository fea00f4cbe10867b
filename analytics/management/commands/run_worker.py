import signal
import time
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import InterfaceError, OperationalError, close_old_connections

from analytics import acceptance, intake, rollups


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
            "--rollup-interval",
            type=float,
            default=1.0,
            help="Seconds between rollup updates (default 1).",
        )

    def handle(self, *args: object, **options: object) -> None:
        self._running = True
        if not options["once"]:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, self._stop)
        last_rollup = 0.0
        while self._running:
            try:
                busy = self._round()
                # Dashboards count clicks not yet rolled up from the click table, so rollups
                # only need to keep up, not to be instant.
                if time.monotonic() - last_rollup >= options["rollup_interval"] or (
                    options["once"] and not busy
                ):
                    rollups.update()
                    last_rollup = time.monotonic()
            except (OperationalError, InterfaceError) as exc:
                # PostgreSQL restarts or is away: web processes spool meanwhile; wait and retry.
                self.stderr.write(f"Database unavailable, retrying: {exc}")
                close_old_connections()
                time.sleep(1)
                continue
            if options["once"] and not busy:
                return
            if not busy:
                time.sleep(options["idle"])

    def _round(self) -> bool:
        """Replay the spool and process one batch; whether there was anything to do."""
        started = time.monotonic()
        moved = acceptance.replay_spool()
        outcome = intake.process_queued(settings.WORKER_BATCH_SIZE)
        if moved:
            self.stdout.write(f"Moved {moved} spooled deliveries into PostgreSQL.")
        if outcome.total:
            elapsed = (time.monotonic() - started) * 1000
            self.stdout.write(
                f"Processed {outcome.total} deliveries ({outcome.clicks_created} clicks) "
                f"in {elapsed:.0f} ms."
            )
        return bool(moved or outcome.total)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        # The batch in hand finishes and commits; a kill -9 instead rolls it back, and its
        # deliveries, still queued, are processed on the next start.
        self._running = False
