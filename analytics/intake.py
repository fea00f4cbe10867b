"""Processing: turn accepted deliveries into campaigns, people and clicks, a batch at a time.

The only writer of clicks. ``process_queued`` takes the oldest queued deliveries (the worker,
``manage.py run_worker``); ``process`` takes given ones (the admin's Reprocess action,
``reprocess_deliveries``, ``seed_demo``). Both end in ``_process``: under one advisory lock, so
writers never race, it parses every delivery, writes all their rows with a few multi-row
statements in one transaction (``analytics.intake_rows``), and records each delivery's outcome
on it: processed, duplicate, ignored, test (a sender's test event, stored as a delivery only) or
failed. A delivery that cannot be parsed or stored is kept, as failed, and never blocks the others
of its batch. Processing is idempotent: a click already stored counts as a duplicate, whichever
delivery, batch or reprocess brings it again.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from analytics import intake_rows
from analytics.models import Delivery
from analytics.senders import Event, PayloadError, parser_for

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key of the intake's writers ("clicktrack intake" as a number); taken
# by whatever must not interleave with a batch (campaign re-mapping, the reliability bench).
LOCK_KEY = 7_215_022_611

# The outcome columns set on each delivery, with their PostgreSQL types (_save_outcomes).
_OUTCOME_FIELDS = {
    "status": "text",
    "error": "text",
    "event_type": "text",
    "clicks_created": "integer",
    "duplicates": "integer",
    "ignored": "integer",
    "attempts": "integer",
    "processed_at": "timestamptz",
    "click_lag": "interval",
}


@dataclass(frozen=True)
class Outcome:
    """What one call processed: deliveries by resulting status, clicks created, and failures."""

    deliveries: dict[str, int]
    clicks_created: int
    failures: list[tuple[int, str]]  # (delivery id, error)

    @property
    def total(self) -> int:
        return sum(self.deliveries.values())


def process_queued(limit: int) -> Outcome:
    """Process up to ``limit`` of the oldest queued (``received``) deliveries."""
    with transaction.atomic():
        _lock()
        queued = Delivery.objects.filter(status=Delivery.Status.RECEIVED).order_by("pk")
        return _process(list(queued.select_related("endpoint")[:limit]))


def process(delivery_ids: Iterable[int]) -> Outcome:
    """Process the given deliveries (again), whatever their status.

    They are read under the lock, so an edit made meanwhile (the admin's repair of a body) is
    what gets processed.
    """
    with transaction.atomic():
        _lock()
        deliveries = Delivery.objects.filter(pk__in=list(delivery_ids)).order_by("pk")
        return _process(list(deliveries.select_related("endpoint")))


def _lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _process(deliveries: list[Delivery]) -> Outcome:
    parsed: list[tuple[Delivery, list[Event]]] = []
    for delivery in deliveries:
        delivery.attempts += 1
        events = _parse(delivery)
        if events is not None:
            parsed.append((delivery, events))
    try:
        with transaction.atomic():
            _write(parsed)
    except Exception as exc:
        if _is_outage(exc):
            raise
        # One delivery spoils the batch's statements; find it by storing each on its own.
        logger.warning(
            "A batch of %d deliveries failed (%s); retrying one by one", len(parsed), exc
        )
        for delivery, events in parsed:
            try:
                with transaction.atomic():
                    _write([(delivery, events)])
            except Exception as exc:
                if _is_outage(exc):
                    raise
                logger.exception("Delivery %s failed to process", delivery.pk)
                _fail(delivery, exc)
    _save_outcomes(deliveries)
    statuses: dict[str, int] = {}
    for delivery in deliveries:
        statuses[delivery.status] = statuses.get(delivery.status, 0) + 1
    return Outcome(
        deliveries=statuses,
        clicks_created=sum(delivery.clicks_created for delivery in deliveries),
        failures=[(d.pk, d.error) for d in deliveries if d.status == Delivery.Status.FAILED],
    )


def _parse(delivery: Delivery) -> list[Event] | None:
    """The delivery's events, or None after recording why they could not be read."""
    endpoint = delivery.endpoint
    try:
        events = parser_for(endpoint.sender)(bytes(delivery.body), endpoint.zone)
    except PayloadError as exc:
        _fail(delivery, exc)
        return None
    except Exception as exc:
        logger.exception("The %s parser failed on delivery %s", endpoint.sender, delivery.pk)
        _fail(delivery, exc)
        return None
    delivery.event_type = ",".join(dict.fromkeys(event.event_type for event in events))[:100]
    return events


def _write(parsed: list[tuple[Delivery, list[Event]]]) -> None:
    """Store every parsed delivery's rows, then set their outcomes (only once all succeeded).

    A sender's test events (``Event.test``, e.g. Dub's "Send test event") never reach
    ``intake_rows.store``: no click, link, campaign or contact of theirs is written, so no count,
    unique visitor or click lag ever includes them. A delivery of nothing but test events is kept
    with the status ``test``; one that also brings real events is processed as usual, its test
    events counted as ignored.
    """
    counts = intake_rows.store([(delivery, _real(events)) for delivery, events in parsed])
    now = timezone.now()
    for delivery, events in parsed:
        created, duplicates, newest = counts[delivery.pk]
        real = _real(events)
        clicks = sum(1 for event in real if event.click)
        if events and not real:
            delivery.status = Delivery.Status.TEST
        elif created:
            delivery.status = Delivery.Status.PROCESSED
        elif duplicates:
            delivery.status = Delivery.Status.DUPLICATE
        else:
            delivery.status = Delivery.Status.IGNORED
        delivery.error = ""
        delivery.clicks_created, delivery.duplicates = created, duplicates
        delivery.ignored = len(events) - clicks
        delivery.processed_at = now
        delivery.click_lag = delivery.received_at - newest if newest else None


def _real(events: list[Event]) -> list[Event]:
    """The events to store: all but the sender's test events."""
    return [event for event in events if not event.test]


def _save_outcomes(deliveries: list[Delivery]) -> None:
    """Write every delivery's outcome columns in one UPDATE ... FROM unnest(arrays).

    What ``bulk_update(deliveries, fields)`` does, without building a CASE WHEN per field and
    delivery in the ORM, which cost the worker more than everything else in a batch.
    """
    if not deliveries:
        return
    names = list(_OUTCOME_FIELDS)
    arrays = ", ".join(f"%s::{kind}[]" for kind in _OUTCOME_FIELDS.values())
    table = connection.ops.quote_name(Delivery._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(n)} = u.{n}" for n in names)
    params = [[delivery.pk for delivery in deliveries]]
    params += [[getattr(delivery, name) for delivery in deliveries] for name in names]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET {assignments}"
            f" FROM unnest(%s::bigint[], {arrays}) AS u (id, {', '.join(names)})"
            " WHERE d.id = u.id",
            params,
        )


def _fail(delivery: Delivery, exc: Exception) -> None:
    delivery.status = Delivery.Status.FAILED
    delivery.error = str(exc) or exc.__class__.__name__
    delivery.clicks_created = delivery.duplicates = delivery.ignored = 0
    delivery.processed_at = timezone.now()
    delivery.click_lag = None


def _is_outage(exc: Exception) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)
