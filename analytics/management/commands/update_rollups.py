import signal
import time
from types import FrameType

from django.core.management.base import BaseCommand, CommandParser
from django.db import InterfaceError, OperationalError, close_old_connections

from analytics import rollups


class Command(BaseCommand):
    help = (
        "Add newly stored clicks to the rollup tables the dashboard reads. run_worker does this "
        "every second already; use this after a bulk change, or --loop to run it on its own. "
        "The stats stay exact without it, only slower as clicks pile up."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep running until stopped.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between rounds (default 1)."
        )

    def handle(self, *args: object, **options: object) -> None:
        if not options["loop"]:
            self.stdout.write(f"Added {rollups.update()} clicks to the rollups.")
            return
        self._running = True
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._stop)
        while self._running:
            started = time.monotonic()
            try:
                added = rollups.update()
            except (OperationalError, InterfaceError) as exc:
                # The database restarts or is away: wait and retry, as the web workers do.
                self.stderr.write(f"Database unavailable, retrying: {exc}")
                close_old_connections()
                added = 0
            if added:
                elapsed = time.monotonic() - started
                self.stdout.write(f"Added {added} clicks in {elapsed * 1000:.0f} ms.")
            time.sleep(max(0.0, options["interval"] - (time.monotonic() - started)))

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._running = False
