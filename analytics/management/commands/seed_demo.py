import sys
import time
import uuid
from collections import Counter

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import connection
from django.utils import timezone
from tqdm import tqdm

from analytics import acceptance, campaigns, intake, rollups
from analytics.models import CampaignRule, CanonicalCampaign, Click, Delivery, WebhookEndpoint
from analytics.senders import SENDERS
from analytics.spool import RawDelivery
from clicktrack.demo import demo_deliveries

# Deliveries accepted and processed per transaction.
_CHUNK = 500


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Fill the database with realistic demo clicks from all four senders. The bodies go "
        "through the real intake (receive, then process), exactly like webhook deliveries."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clicks", type=_positive, default=20000, help="Default: 20000.")
        parser.add_argument("--days", type=_positive, default=90, help="Default: 90 days to now.")
        parser.add_argument(
            "--seed",
            type=int,
            default=7,
            help="Same seed and time, same data: a rerun adds only duplicates; use another seed.",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any click exists (make run)."
        )

    def handle(self, *args: object, **options: object) -> None:
        # Demo data need not survive a database crash, so the thousands of small intake commits
        # need not wait for their WAL flush to disk. Only this connection is affected, and the
        # bodies still go through the real intake.
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        if options["if_empty"] and Click.objects.exists():
            self.stdout.write("Clicks already exist; no demo data added.")
            return
        endpoints = {sender: _demo_endpoint(sender) for sender in SENDERS}
        clicks = options["clicks"]
        started = time.perf_counter()
        self.stdout.write(f"Generating {clicks} demo clicks over {options['days']} days…")
        self.stdout.flush()
        # Generated up front (pure, a few seconds for 20,000 clicks) so progress is exact.
        deliveries = list(demo_deliveries(clicks, options["days"], timezone.now(), options["seed"]))
        # The bar is for people watching; under make, CI or a pipe, lines say how far it got.
        bar = tqdm(
            total=len(deliveries),
            unit=" deliveries",
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
        )
        progress = _Progress(self.stdout, len(deliveries), clicks, quiet=not bar.disable)
        totals: Counter[str] = Counter()
        errors: list[str] = []
        # At least ~20 chunks, so a small demo reports progress too.
        size = max(1, min(_CHUNK, -(-len(deliveries) // 20)))
        for first in range(0, len(deliveries), size):
            chunk = deliveries[first : first + size]
            # Accepted as the webhook view accepts them, then processed as the worker does.
            ids = acceptance.insert_deliveries(
                [_raw(endpoints[sender], body) for sender, body, _ in chunk], spooled=False
            )
            outcome = intake.process(ids)
            errors += [f"Delivery {pk}: {error}" for pk, error in outcome.failures]
            totals.update(outcome.deliveries)
            totals["deliveries"] += outcome.total
            totals["clicks"] += outcome.clicks_created
            bar.update(len(chunk))
            progress.update(len(chunk), totals["clicks"])
        bar.close()
        # What update_rollups would do next: the dashboards then read rollups at once.
        rollups.update()
        _unify_black_friday()
        elapsed = time.perf_counter() - started

        self.stdout.write(
            f"Seeded {totals['deliveries']} deliveries in {elapsed:.1f} s: "
            f"{totals['clicks']} clicks created ({totals['clicks'] / max(elapsed, 1e-9):.0f} "
            f"clicks/s), {totals[Delivery.Status.DUPLICATE]} duplicate deliveries, "
            f"{totals[Delivery.Status.IGNORED]} ignored, "
            f"{totals[Delivery.Status.FAILED]} failed."
        )
        if errors:
            for error in errors[:10]:
                self.stderr.write(error)
            raise CommandError(f"{len(errors)} demo deliveries failed; see Delivery.error.")


class _Progress:
    """Progress lines for output that is not a terminal: one each tenth of the way, and at
    least every few seconds, so a log shows the seeding is alive and how far it got."""

    EVERY_SECONDS = 2.0

    def __init__(self, out: OutputWrapper, deliveries: int, clicks: int, quiet: bool) -> None:
        self.out, self.total, self.clicks, self.quiet = out, deliveries, clicks, quiet
        self.done = 0
        self.started = self.last_time = time.perf_counter()
        self.last_tenth = 0

    def update(self, deliveries: int, clicks_created: int) -> None:
        self.done += deliveries
        now = time.perf_counter()
        percent = self.done * 100 // max(self.total, 1)
        if self.quiet or (
            percent // 10 == self.last_tenth and now - self.last_time < self.EVERY_SECONDS
        ):
            return
        self.last_tenth, self.last_time = percent // 10, now
        rate = clicks_created / max(now - self.started, 1e-9)
        self.out.write(
            f"Seeding demo data: {percent:3d}% ({clicks_created} of {self.clicks} clicks, "
            f"{rate:.0f} clicks/s)"
        )
        self.out.flush()  # a pipe buffers stdout: a log should see each line as it happens


def _unify_black_friday() -> None:
    """One unified campaign to show how rules work ("Black Friday" in three tools); the demo's
    other shared utm_campaign is left as a suggestion on the unify page."""
    if CanonicalCampaign.objects.filter(name="Black Friday", is_automatic=False).exists():
        return
    black_friday = CanonicalCampaign(name="Black Friday")
    campaigns.save(black_friday)
    Field, Match = CampaignRule.Field, CampaignRule.Match
    for field, match, pattern in (
        (Field.NAME, Match.PREFIX, "Black Friday"),
        (Field.UTM_CAMPAIGN, Match.IEXACT, "black-friday"),
    ):
        rule = CampaignRule(canonical=black_friday, field=field, match=match, pattern=pattern,
                            priority=campaigns.next_priority())  # fmt: skip
        campaigns.save(rule)


def _raw(endpoint: WebhookEndpoint, body: bytes) -> RawDelivery:
    return RawDelivery(
        spool_id=uuid.uuid4(),
        endpoint_id=endpoint.pk,
        received_at=timezone.now(),
        remote_addr="127.0.0.1",
        headers={"Content-Type": "application/json", "User-Agent": f"{endpoint.sender}-webhooks"},
        body=body,
        status=Delivery.Status.RECEIVED,
        error="",
    )


def _demo_endpoint(sender: str) -> WebhookEndpoint:
    """The sender's demo endpoint, created on first use and reused on later runs."""
    spec = SENDERS[sender]
    name = f"Demo {spec.label}"
    endpoint = WebhookEndpoint.objects.filter(sender=sender, name=name).order_by("pk").first()
    if endpoint:
        return endpoint
    # Secrets as each sender issues them; intake is called directly, so nothing is signed.
    return WebhookEndpoint.objects.create(
        sender=sender,
        name=name,
        secret=spec.demo_secret(),
        time_zone=spec.default_time_zone,
    )
