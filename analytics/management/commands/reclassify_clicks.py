from argparse import ArgumentParser
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.reclassify import reclassify


class Command(BaseCommand):
    help = (
        "Judge stored clicks again under the current bot rules (after a rule, a setting or the "
        "datacenter list changed), and rebuild the rollups of the months that changed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--since", type=date.fromisoformat, help="First day (YYYY-MM-DD).")
        parser.add_argument("--until", type=date.fromisoformat, help="Last day, included.")
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args: object, since: date | None, until: date | None, dry_run: bool,
               **options: object) -> None:  # fmt: skip
        if since and until and until < since:
            raise CommandError("--until must be on or after --since.")
        zone = ZoneInfo(settings.DASHBOARD_TIME_ZONE)
        start = datetime.combine(since, time(), zone) if since else None
        end = datetime.combine(until, time(), zone) if until else None
        if end:
            end = datetime.combine(until.fromordinal(until.toordinal() + 1), time(), zone)
        result = reclassify(start, end, dry_run=dry_run)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{result.clicks} clicks judged, {result.changed} {verb}.")
        if result.unparsed:
            self.stdout.write(
                f"{result.unparsed} clicks kept their reason: their delivery is gone or no "
                "longer parses (only the burst rule was applied again)."
            )
        for label in sorted(set(result.before) | set(result.after)):
            self.stdout.write(f"  {label}: {result.before[label]} -> {result.after[label]}")
