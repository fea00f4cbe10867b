from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils.timezone import now

from analytics import intake
from analytics.models import Delivery
from analytics.senders import PayloadError
from analytics.timeutil import cli_date

STUCK_AFTER = timedelta(minutes=1)


class Command(BaseCommand):
    help = (
        "Process stored deliveries again, e.g. failed ones after a fix. Idempotent: clicks already "
        "stored are counted as duplicates, never created twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--status",
            action="append",
            choices=Delivery.Status.values,
            help="Status to reprocess; repeat for several (default: failed, and received ones "
            "left unprocessed for over a minute, e.g. by a database outage).",
        )
        parser.add_argument("--since", type=cli_date, help="Only deliveries received since (UTC).")
        parser.add_argument("--id", type=int, action="append", dest="ids", help="One delivery.")

    def handle(self, *args: object, **options: object) -> None:
        if options["status"]:
            deliveries = Delivery.objects.filter(status__in=options["status"])
        else:
            # A delivery still "received" a minute on was cut off (an outage) mid-request; a
            # younger one may be in flight in a web worker right now.
            stuck = Q(status=Delivery.Status.RECEIVED, received_at__lt=now() - STUCK_AFTER)
            deliveries = Delivery.objects.filter(Q(status=Delivery.Status.FAILED) | stuck)
        if options["since"]:
            deliveries = deliveries.filter(received_at__gte=options["since"])
        if options["ids"]:
            deliveries = Delivery.objects.filter(pk__in=options["ids"])

        outcomes: dict[str, int] = {}
        clicks = 0
        for delivery in deliveries.select_related("endpoint").order_by("pk").iterator(2000):
            try:
                intake.process(delivery)
            except PayloadError as exc:
                self.stderr.write(f"Delivery {delivery.pk}: {exc}")
            except (OperationalError, InterfaceError) as exc:
                raise CommandError(
                    f"Database unavailable at delivery {delivery.pk}: {exc}"
                ) from exc
            except Exception as exc:
                self.stderr.write(f"Delivery {delivery.pk}: {exc.__class__.__name__}: {exc}")
            outcomes[delivery.status] = outcomes.get(delivery.status, 0) + 1
            clicks += delivery.clicks_created

        total = sum(outcomes.values())
        detail = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items()))
        self.stdout.write(
            f"Reprocessed {total} deliveries ({detail or 'none matched'}); {clicks} clicks created."
        )
