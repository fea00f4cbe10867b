"""The scanner-burst rule against the database: a batch's clicks and their recipients' stored ones.

``analytics.bots`` decides; this module finds the neighbours a decision needs and writes the
verdicts. A stored click is reclassified only while it still waits for the rollups (its
``PendingRollup`` row, which the rollup worker keeps for ``BOT_LATE_EVIDENCE_SECONDS``), so the
rollups never count a click under a reason it no longer has; ``reclassify_clicks`` does the rest.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from analytics import bots
from analytics.bot_reasons import BotReason
from analytics.models import Click, PendingRollup

_CLICKS = Click._meta.db_table
_PENDING = PendingRollup._meta.db_table


def mark_bursts(rows: list[dict[str, object]]) -> int:
    """Flag the batch's new click rows (``intake_rows``' dicts) that make a burst with each other
    or with their recipients' stored clicks, and reclassify those stored clicks while they are
    still pending. Returns how many stored clicks were reclassified."""
    recipients = {row["recipient_id"] for row in rows if row["recipient_id"] is not None}
    if not recipients:
        return 0
    window = timedelta(seconds=settings.BOT_BURST_SECONDS)
    times = [row["occurred_at"] for row in rows if row["recipient_id"] is not None]
    stored = _neighbours(sorted(recipients), min(times) - window, max(times) + window)
    visits = [
        bots.Visit(("new", index), row["recipient_id"], row["occurred_at"], row["url"])
        for index, row in enumerate(rows)
        if row["recipient_id"] is not None
    ]
    visits += [
        bots.Visit(("stored", pk), recipient, at, url) for pk, recipient, at, url, _ in stored
    ]
    found = bots.bursts(visits)
    for kind, index in found:
        if kind == "new" and rows[index]["bot_reason"] == BotReason.HUMAN:
            rows[index]["bot_reason"], rows[index]["is_bot"] = BotReason.SCANNER_BURST, True
    humans = [pk for pk, *_, reason in stored if ("stored", pk) in found and not reason]
    return _reclassify_pending(humans, BotReason.SCANNER_BURST)


def _neighbours(recipients: list[int], lo: datetime, hi: datetime) -> list[tuple]:
    """Stored clicks of these recipients between lo and hi: (id, recipient, at, url, reason).

    One window for the batch, not one per recipient: a batch spans seconds of live traffic, and
    its recipients' other clicks within a backlog's longer span are few; sending a pair of times
    per recipient cost more than reading them.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.id, c.recipient_id, c.occurred_at, c.url, c.bot_reason
            FROM {_CLICKS} c
            WHERE c.recipient_id = ANY(%s::bigint[]) AND c.occurred_at BETWEEN %s AND %s
            """,
            [recipients, lo, hi],
        )
        return cursor.fetchall()


def _reclassify_pending(click_ids: list[int], reason: BotReason) -> int:
    """Give these human clicks ``reason`` if the rollups have not counted them yet.

    Locking their pending rows first makes a concurrent rollup batch either take a click before
    (the row is gone: left alone) or after (it counts the new reason), never half of each.
    """
    if not click_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {_CLICKS} SET bot_reason = %s, is_bot = TRUE
            WHERE bot_reason = '' AND id IN (
                SELECT click_id FROM {_PENDING} WHERE click_id = ANY(%s) FOR UPDATE
            )
            """,
            [reason, click_ids],
        )
        return cursor.rowcount
