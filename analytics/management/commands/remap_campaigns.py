import time

from django.core.management.base import BaseCommand

from analytics import campaigns


class Command(BaseCommand):
    help = (
        "Apply the campaign rules to every sender campaign, giving each unmatched one a campaign "
        "of its own: after campaigns were imported other than through the webhooks (a bulk "
        "load, a restore). The pages and the admin do it on every change of rules."
    )

    def handle(self, *args: object, **options: object) -> None:
        started = time.monotonic()
        result = campaigns.remap()
        elapsed = (time.monotonic() - started) * 1000
        self.stdout.write(
            f"Placed {result.campaigns} sender campaigns in {elapsed:.0f} ms: {len(result.moved)} "
            f"moved, {result.created} campaigns of their own made, {result.deleted} removed."
        )
