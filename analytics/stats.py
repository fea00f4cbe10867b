"""Every number the dashboard, the stats API and the campaign list show, one query per series.

All functions take a ``ClickFilter`` and return plain data, so the storage behind them can change
(rollups, partitions) without touching a view.
"""

import heapq
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.db.models import Min, OuterRef, Q, Subquery
from django.utils import timezone

from analytics import page_reads, panels, rollup_reads
from analytics.bot_reasons import BotReason
from analytics.filters import DIMENSIONS, SENDER_CAMPAIGN, ClickFilter
from analytics.models import Campaign, CanonicalCampaign, Device, Sender
from analytics.senders.normalize import country_name


def summary(f: ClickFilter) -> dict[str, object]:
    """Headline figures for the period and the one before."""
    previous = f.previous()
    periods = {"current": f} | ({"previous": previous} if previous else {})
    figures = {name: _figures(period) for name, period in periods.items()}
    current, before = figures["current"], figures.get("previous")
    return {
        "period": _period(f),
        "previous_period": _period(previous) if previous else None,
        # The custom ranges of the same length before and after (the dashboard's arrows).
        "steps": f.steps(),
        "current": current,
        "previous": before,
        "change": {
            "clicks": _change(current["clicks"], before and before["clicks"]),
            "unique": _change(current["unique"], before and before["unique"]),
            "bots": _change(current["bots"], before and before["bots"]),
            "qr_share": round(current["qr_share"] - before["qr_share"], 4)
            if before and before["clicks"]
            else None,
        },
    }


def timeseries(f: ClickFilter) -> dict[str, object]:
    """Clicks and unique clicks per bucket in the viewer's zone, empty buckets as zero.

    Buckets that start after now are left out (today's later hours): a line dropping to zero
    there would read as a crash. The bucket now falls in is marked partial.
    """
    bucket = f.bucket
    now = f.now or timezone.now()
    current = [point for point in _series(f, bucket, now) if point["t"] <= now]
    previous = f.previous()
    before = _series(previous, bucket, now)[: len(current)] if previous else []
    for point in current + before:
        point["t"] = point["t"].isoformat()
    return {
        "bucket": bucket,
        "buckets": f.buckets,
        "tz": f.tz.key,
        "current": current,
        "previous": before,
    }


def breakdown(f: ClickFilter, dimension: str, limit: int | None = 10) -> dict[str, object]:
    """Top ``limit`` values (None: all) of a dimension, or of a breakdown only the clicks hold
    (panels.CLICK_BREAKDOWNS), with counts and shares, rest as "other"."""
    return _ranked(dimension, _breakdown_counts(f, dimension), limit)


def page(f: ClickFilter, breakdowns: list[tuple[str, int]]) -> dict[str, object]:
    """A dashboard page's answers (summary, time series and each (dimension, limit) breakdown,
    in the order asked), read from one snapshot of the data (page_reads), so they agree with
    each other while the worker commits clicks. A dimension asked at two limits (the country
    list and the map) is counted once."""
    dimensions = list(dict.fromkeys(dimension for dimension, _ in breakdowns))
    reads = [
        partial(summary, f),
        partial(timeseries, f),
        *(partial(_breakdown_counts, f, dimension) for dimension in dimensions),
    ]
    summary_, timeseries_, *counts = page_reads.read_all(reads)
    counted = dict(zip(dimensions, counts, strict=True))
    return {
        "summary": summary_,
        "timeseries": timeseries_,
        "breakdowns": [
            _ranked(dimension, counted[dimension], limit) | {"limit": limit}
            for dimension, limit in breakdowns
        ],
    }


def _breakdown_counts(f: ClickFilter, dimension: str) -> list[rollup_reads.CountRow]:
    if dimension in panels.CLICK_BREAKDOWNS:
        return panels.click_counts(f, dimension)
    # Reasons are about bots: their breakdown counts them whatever the bot rule says.
    return rollup_reads.counts(
        f, [f.start, f.end], group=dimension, apply_bot_rule=dimension != "bot_reason"
    )


def _ranked(
    dimension: str, counted: list[rollup_reads.CountRow], limit: int | None
) -> dict[str, object]:
    # Most clicked first; ties by value, unknown (NULL) last, so the order is stable.
    def order(row: rollup_reads.CountRow) -> tuple:
        return (-row.clicks, row.value is None, row.value if row.value is not None else 0)

    total_clicks = sum(row.clicks for row in counted)
    total_unique = sum(row.uniques for row in counted)
    # The top ten of a city breakdown's thousands without sorting them all.
    fetched = (
        sorted(counted, key=order) if limit is None else heapq.nsmallest(limit, counted, order)
    )
    values = [row.value for row in fetched]
    if dimension in panels.CLICK_BREAKDOWNS:
        labels = panels.click_labels(dimension, values)
    else:
        labels = _labels(dimension, values)
    rows = [
        {
            "value": "" if row.value is None else str(row.value),
            "label": labels.get(row.value, str(row.value)),
            "clicks": row.clicks,
            "unique": row.uniques,
            "share": _share(row.clicks, total_clicks),
        }
        for row in fetched
    ]
    other_clicks = total_clicks - sum(row["clicks"] for row in rows)
    other_unique = total_unique - sum(row["unique"] for row in rows)
    return {
        "dimension": dimension,
        "label": panels.BREAKDOWNS[dimension],
        "rows": rows,
        "other": {
            "clicks": other_clicks,
            "unique": other_unique,
            "share": _share(other_clicks, total_clicks),
        }
        if other_clicks
        else None,
        "total": {"clicks": total_clicks, "unique": total_unique},
    }


def campaigns(f: ClickFilter) -> list[dict[str, object]]:
    """Every canonical campaign the filter can reach, with its clicks, last click and per-bucket
    sparkline, and its sender campaigns (those the filter reaches) with their own clicks and
    last click.

    Counts follow every filter (country, device, bots…); campaigns without a matching click are
    listed with zero, most clicked first. A canonical campaign's counts are the sum of its
    sender campaigns', unique clicks included (a visitor is known per sender campaign).
    """
    edges = [f.start, f.end]
    canonical = {row.value: row for row in rollup_reads.counts(f, edges, group="campaign")}
    by_sender = {row.value: row for row in rollup_reads.counts(f, edges, group=SENDER_CAMPAIGN)}
    members = Campaign.objects.filter(_campaign_scope(f)).order_by("id").values(
        "id", "name", "external_id", "sender", "canonical_id", "canonical__name",
        "canonical__is_automatic",
    )  # fmt: skip
    last_clicks = _last_clicks(f, [pk for pk in by_sender if pk is not None])
    sparklines = _sparklines(f)
    zero = rollup_reads.CountRow()
    rows: dict[int, dict[str, object]] = {}
    for member in members:
        pk = member["canonical_id"]
        if pk not in rows:
            total = canonical.get(pk, zero)
            rows[pk] = {
                "id": pk,
                "name": member["canonical__name"],
                "automatic": member["canonical__is_automatic"],
                "clicks": total.clicks,
                "unique": total.uniques,
                "last_click": None,
                "sparkline": sparklines.get(pk) or [0] * len(sparklines[None]),
                "sender_campaigns": [],
            }
        counted, last = by_sender.get(member["id"], zero), last_clicks.get(member["id"])
        rows[pk]["sender_campaigns"].append(
            {
                "id": member["id"],
                "name": member["name"] or member["external_id"],
                "external_id": member["external_id"],
                "sender": member["sender"],
                "sender_label": Sender(member["sender"]).label,
                "clicks": counted.clicks,
                "unique": counted.uniques,
                "last_click": last,
            }
        )
    for row in rows.values():
        senders = row["sender_campaigns"]
        senders.sort(key=lambda s: (-s["clicks"], s["name"].lower(), s["id"]))
        row["last_click"] = max((s["last_click"] for s in senders if s["last_click"]), default=None)
        row["senders"] = sorted({s["sender"] for s in senders})
        row["sender_labels"] = ", ".join(Sender(sender).label for sender in row["senders"])
    return sorted(rows.values(), key=lambda row: (-row["clicks"], row["name"].lower(), row["id"]))


def _campaign_scope(f: ClickFilter) -> Q:
    """The sender campaigns the sender, campaign (canonical) and sender_campaign filters allow."""
    q = Q(canonical__isnull=False)
    for key, field in (("sender", "sender"), ("campaign", "canonical_id")):
        include = [v for v in f.include.get(key, ()) if v]
        if include:
            q &= Q(**{f"{field}__in": include})
        if f.exclude.get(key):
            q &= ~Q(**{f"{field}__in": [v for v in f.exclude[key] if v]})
    if f.sender_campaigns:
        q &= Q(id__in=[int(v) for v in f.sender_campaigns])
    return q


def _last_clicks(f: ClickFilter, campaign_ids: list[int]) -> dict[int, datetime]:
    """The last matching click of each campaign: one backward walk of click_campaign_time per
    campaign, which rollups (counts per period) cannot tell."""
    if not campaign_ids:
        return {}
    last = (
        f.clicks()
        .filter(campaign_id=OuterRef("pk"))
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    found = Campaign.objects.filter(pk__in=campaign_ids).annotate(last=Subquery(last))
    return dict(found.values_list("pk", "last"))


def _sparklines(f: ClickFilter) -> dict[int | None, list[int]]:
    """Clicks per bucket for each canonical campaign; the None key holds the empty line's
    length."""
    starts, counted = _per_bucket(f, f.bucket, group="campaign")
    # The time series' buckets: those that have started.
    now = f.now or timezone.now()
    starts = [start for start in starts if start.replace(tzinfo=f.tz) <= now]
    index = {start: position for position, start in enumerate(starts)}
    lines: dict[int | None, list[int]] = {None: [0] * len(starts)}
    for row in counted:
        position = index.get(row.bucket)
        if row.value is not None and position is not None:
            lines.setdefault(row.value, [0] * len(starts))[position] = row.clicks
    return lines


def _series(f: ClickFilter, bucket: str, now: datetime) -> list[dict[str, object]]:
    """The points of every bucket, "t" as an aware datetime (the caller formats it)."""
    starts, counted = _per_bucket(f, bucket)
    by_start = {row.bucket: (row.clicks, row.uniques) for row in counted}
    series = []
    for index, start in enumerate(starts):
        clicks, unique = by_start.get(start, (0, 0))
        aware = start.replace(tzinfo=f.tz)
        # A bucket still running: its end (the next start, or the period's) is after now.
        end = starts[index + 1].replace(tzinfo=f.tz) if index + 1 < len(starts) else f.end
        point = {"t": aware, "clicks": clicks, "unique": unique}
        if aware <= now < end:
            point["partial"] = True
        series.append(point)
    return series


def _per_bucket(
    f: ClickFilter, bucket: str, group: str | None = None
) -> tuple[list[datetime], list[rollup_reads.CountRow]]:
    """Every bucket's naive local start, and the counts per (group value,) bucket start."""
    starts = bucket_starts(f.start, f.end, f.tz, bucket)
    edges = rollup_reads.local_edges(starts, f.tz, f.start, f.end)
    return starts, rollup_reads.counts(f, edges, group=group, bucket=bucket)


def bucket_starts(start: datetime, end: datetime, tz: ZoneInfo, bucket: str) -> list[datetime]:
    """Naive local start of every bucket overlapping [start, end), as date_trunc names them.

    Hours step in absolute time so a repeated hour after a DST change is one bucket, as it is
    for date_trunc on local time; days, weeks and months step through the local calendar.
    """
    local_start = start.astimezone(tz).replace(tzinfo=None)
    local_end = end.astimezone(tz).replace(tzinfo=None)
    starts: list[datetime] = []
    if bucket == "hour":
        moment = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        while moment < end:
            local = moment.astimezone(tz).replace(tzinfo=None, minute=0, second=0, microsecond=0)
            is_new = not starts or local > starts[-1]
            if is_new and local < local_end and local + timedelta(hours=1) > local_start:
                starts.append(local)
            # Half-hour steps: in Asia/Kolkata local hours begin at :30 UTC.
            moment += timedelta(minutes=30)
        return starts
    day = local_start.date()
    if bucket == "week":
        day -= timedelta(days=day.weekday())
    elif bucket == "month":
        day = day.replace(day=1)
    while datetime.combine(day, datetime.min.time()) < local_end:
        starts.append(datetime.combine(day, datetime.min.time()))
        if bucket == "day":
            day += timedelta(days=1)
        elif bucket == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return starts


def _labels(dimension: str, values: list[object]) -> dict[object, str]:
    if dimension == "campaign":
        # Canonical campaigns; an automatic one (one sender campaign) names its sender too.
        found = (
            CanonicalCampaign.objects.filter(id__in=[v for v in values if v])
            .annotate(sender=Min("campaigns__sender"))
            .values_list("id", "name", "is_automatic", "sender")
        )
        names = {
            pk: f"{name} ({Sender(sender).label})" if automatic and sender else name
            for pk, name, automatic, sender in found
        }
        return {
            value: names.get(value, f"Campaign {value}" if value else "No campaign")
            for value in values
        }
    if dimension == "country":
        return {value: country_name(value) if value else "Unknown" for value in values}
    if dimension == "sender":
        return {value: Sender(value).label for value in values}
    if dimension == "device":
        return {value: Device(value).label for value in values}
    if dimension == "bot_reason":
        return {value: BotReason(value).label for value in values}
    if dimension == "referer":
        return {value: {"": "Unknown", "(direct)": "Direct"}.get(value, value) for value in values}
    return {value: value or "Unknown" for value in values}


def filter_labels(f: ClickFilter) -> dict[str, dict[str, str]]:
    """Labels of the active filter values, for the dashboard's filter chips."""
    labels = {}
    for key in DIMENSIONS:
        values = [*f.include.get(key, ()), *f.exclude.get(key, ())]
        if values:
            typed = [int(v) if key == "campaign" and v else v for v in values]
            if key == "campaign":
                typed = [v or None for v in typed]
            found = _labels(key, typed)
            labels[key] = {("" if v is None else str(v)): found[v] for v in typed}
    return labels


def _figures(f: ClickFilter) -> dict[str, object]:
    # Bots are counted whatever the bot rule: the card says how many were filtered out.
    counted = rollup_reads.counts(f, [f.start, f.end], by_bot=True, apply_bot_rule=False)
    by_bot = {row.is_bot: row for row in counted}
    zero = rollup_reads.CountRow()  # no matching clicks of that kind
    humans, bots = by_bot.get(False, zero), by_bot.get(True, zero)
    shown = [humans, bots] if f.counts_bots else [humans]
    clicks = sum(row.clicks for row in shown)
    qr = sum(row.qr for row in shown)
    return {
        "clicks": clicks,
        "unique": sum(row.uniques for row in shown),
        "bots": bots.clicks,
        "qr": qr,
        "qr_share": _share(qr, clicks),
    }


def _period(f: ClickFilter) -> dict[str, str]:
    return {"start": f.start.isoformat(), "end": f.end.isoformat(), "label": f.label}


def _change(current: int, previous: int | None) -> float | None:
    if not previous:
        return None
    return round((current - previous) / previous, 4)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
