from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from analytics import rollups
from analytics.models import Click, Delivery

BATCH = 10_000


class Command(BaseCommand):
    help = (
        "Delete clicks and raw deliveries older than the configured ages "
        "(CLICK_RETENTION_DAYS, DELIVERY_RETENTION_DAYS; 0 keeps forever), in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="One age for both, overriding the settings.")
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args: object, **options: object) -> None:
        click_days = options["days"] or settings.CLICK_RETENTION_DAYS
        delivery_days = options["days"] or settings.DELIVERY_RETENTION_DAYS
        if not (click_days or delivery_days):
            raise CommandError(
                "No retention age: pass --days or set CLICK_RETENTION_DAYS / "
                "DELIVERY_RETENTION_DAYS."
            )
        now = timezone.now()
        click_cutoff = now - timedelta(days=click_days) if click_days else None
        clicks = (
            Click.objects.filter(occurred_at__lt=click_cutoff)
            if click_days
            else Click.objects.none()
        )
        deliveries = (
            Delivery.objects.filter(received_at__lt=now - timedelta(days=delivery_days))
            if delivery_days
            else Delivery.objects.none()
        )
        ages = (
            f"{click_days} days"
            if click_days == delivery_days
            else f"{click_days or '∞'} / {delivery_days or '∞'} days"
        )
        if options["dry_run"]:
            self.stdout.write(
                f"Would delete {clicks.count()} clicks and {deliveries.count()} deliveries "
                f"older than {ages}."
            )
            return
        deleted_clicks = _delete_in_batches(clicks)
        if deleted_clicks:
            # The dashboards read rollups: count the months the deletion touched again.
            rollups.rebuild(None, click_cutoff)
        deleted_deliveries = _delete_in_batches(deliveries)
        self.stdout.write(
            f"Deleted {deleted_clicks} clicks and {deleted_deliveries} deliveries "
            f"older than {ages}."
        )


def _delete_in_batches(rows: QuerySet[Model]) -> int:
    """Delete in short transactions so intake is never blocked behind one huge delete."""
    total = 0
    while True:
        ids = list(rows.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        with transaction.atomic():
            # Deleting a delivery nulls its clicks' delivery_id (SET_NULL), done by Django.
            deleted = rows.model.objects.filter(pk__in=ids).delete()[1]
            total += deleted.get(rows.model._meta.label, 0)
            if rows.model is Click:
                # Closed days' counts kept by the web processes stop standing with the clicks
                # (analytics/closed_counts.py), not at the rebuild after the last batch.
                with connection.cursor() as cursor:
                    rollups.change_version(cursor)
