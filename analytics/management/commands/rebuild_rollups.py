import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics import rollups


class Command(BaseCommand):
    help = (
        "Recompute the rollup tables from the clicks: after a bulk load, or a change of "
        "analytics.rollups.SETS. The range widens to whole UTC months."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="First day to rebuild, YYYY-MM-DD (default: all).")
        parser.add_argument("--until", help="Day after the last to rebuild, YYYY-MM-DD.")

    def handle(self, *args: object, **options: object) -> None:
        since, until = _day(options["since"], "since"), _day(options["until"], "until")
        started = time.monotonic()
        clicks = rollups.rebuild(since, until)
        elapsed = time.monotonic() - started
        self.stdout.write(f"Rebuilt the rollups of {clicks} clicks in {elapsed:.1f} s.")


def _day(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"--{name} must be a date as YYYY-MM-DD, got {value!r}.") from None
