from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError

from analytics import intake
from analytics.models import Delivery
from analytics.timeutil import cli_date

_CHUNK = 500


class Command(BaseCommand):
    help = (
        "Process stored deliveries again, e.g. failed ones after a fix. Idempotent: clicks already "
        "stored are counted as duplicates, never created twice. Queued deliveries are the "
        "worker's (run_worker); name them with --status received to process them here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--status",
            action="append",
            choices=Delivery.Status.values,
            help="Status to reprocess; repeat for several (default: failed).",
        )
        parser.add_argument("--since", type=cli_date, help="Only deliveries received since (UTC).")
        parser.add_argument(
            "--id",
            type=int,
            action="append",
            dest="ids",
            help="One delivery; repeat for several. Combines with --status and --since only "
            "when they are given.",
        )

    def handle(self, *args: object, **options: object) -> None:
        deliveries = Delivery.objects.all()
        if options["ids"]:
            deliveries = deliveries.filter(pk__in=options["ids"])
        if options["status"] or not options["ids"]:
            deliveries = deliveries.filter(status__in=options["status"] or [Delivery.Status.FAILED])
        if options["since"]:
            deliveries = deliveries.filter(received_at__gte=options["since"])
        ids = list(deliveries.order_by("pk").values_list("pk", flat=True))

        outcomes: dict[str, int] = {}
        clicks = 0
        for start in range(0, len(ids), _CHUNK):
            try:
                outcome = intake.process(ids[start : start + _CHUNK])
            except (OperationalError, InterfaceError) as exc:
                raise CommandError(f"Database unavailable at delivery {ids[start]}: {exc}") from exc
            for status, count in outcome.deliveries.items():
                outcomes[status] = outcomes.get(status, 0) + count
            clicks += outcome.clicks_created
            for pk, error in outcome.failures:
                self.stderr.write(f"Delivery {pk}: {error}")

        total = sum(outcomes.values())
        detail = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items()))
        self.stdout.write(
            f"Reprocessed {total} deliveries ({detail or 'none matched'}); {clicks} clicks created."
        )
