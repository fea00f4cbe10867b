import contextlib
import sys
from typing import TextIO

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import QuerySet
from tqdm import tqdm

from analytics.exports import CLICK_COLUMNS, click_rows, csv_lines
from analytics.models import Click, Sender
from analytics.timeutil import cli_date


class Command(BaseCommand):
    help = "Write clicks as CSV, one row per click in time order (UTC), streaming."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")
        parser.add_argument("--since", type=cli_date, help="Clicks at or after this date (UTC).")
        parser.add_argument("--until", type=cli_date, help="Clicks before this date (UTC).")
        parser.add_argument("--sender", choices=Sender.values)

    def handle(self, *args: object, **options: object) -> None:
        clicks = Click.objects.all()
        if options["since"]:
            clicks = clicks.filter(occurred_at__gte=options["since"])
        if options["until"]:
            clicks = clicks.filter(occurred_at__lt=options["until"])
        if options["sender"]:
            clicks = clicks.filter(sender=options["sender"])

        path = options["output"]
        with contextlib.ExitStack() as stack:
            out = (
                stack.enter_context(open(path, "w", newline="", encoding="utf-8"))
                if path
                else self.stdout._out
            )
            written = self._write(clicks, out)
        if path:
            self.stderr.write(f"Wrote {written} clicks to {path}.")

    def _write(self, clicks: QuerySet[Click], out: TextIO) -> int:
        # The progress bar goes to the terminal (stderr), never into the CSV.
        show_bar = sys.stderr.isatty()
        rows = tqdm(
            click_rows(clicks),
            total=clicks.count() if show_bar else None,
            disable=not show_bar,
            unit=" clicks",
            file=sys.stderr,
        )
        written = -1  # the header is not a click
        for line in csv_lines(CLICK_COLUMNS, rows):
            out.write(line)
            written += 1
        return written
