"""The rows a batch of parsed deliveries implies, written with a few multi-row statements.

Called only by ``analytics.intake`` under its advisory lock: no other writer changes campaigns,
links, contacts, first clicks or clicks meanwhile, so what a SELECT here finds stays true until
the batch commits. Per batch: one SELECT and at most one upsert per kind of shared row, one
SELECT of the clicks already stored, one INSERT of first clicks and one INSERT of the clicks with
their pending-rollup rows.
"""

import hashlib
import hmac
import ipaddress
from datetime import datetime

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

from analytics.models import Campaign, Click, Contact, Delivery, FirstClick, Link, PendingRollup
from analytics.senders import ClickData, Event
from analytics.senders.fields import derived_key

# Per kind of shared row: its natural key (with the sender) and the values an event may carry.
_SHARED: dict[type[models.Model], tuple[str, list[str]]] = {
    Campaign: (
        "external_id",
        [
            "name",
            "destination_url",
            "status",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "details",
        ],
    ),
    Link: (
        "external_id",
        [
            "short_link",
            "destination_url",
            "domain",
            "key",
            "utm_source",
            "utm_medium",
            "utm_campaign",
        ],
    ),
    Contact: ("email", ["external_id", "name", "company"]),
}

# Click columns and their PostgreSQL types, for one INSERT ... SELECT FROM unnest(arrays).
_CLICK_COLUMNS = {
    "sender": "text",
    "click_key": "text",
    "external_id": "text",
    "endpoint_id": "bigint",
    "delivery_id": "bigint",
    "occurred_at": "timestamptz",
    "occurred_at_raw": "text",
    "received_at": "timestamptz",
    "campaign_id": "bigint",
    "link_id": "bigint",
    "url": "text",
    "country": "text",
    "region": "text",
    "city": "text",
    "continent": "text",
    "latitude": "float8",
    "longitude": "float8",
    "device": "text",
    "browser": "text",
    "os": "text",
    "referer": "text",
    "referer_url": "text",
    "is_qr": "bool",
    "is_bot": "bool",
    "is_unique": "bool",
    "ip": "inet",
    "visitor": "text",
    "recipient_id": "bigint",
    "sharer_id": "bigint",
    "utm_source": "text",
    "utm_medium": "text",
    "utm_campaign": "text",
}

SharedKey = tuple[type[models.Model], str, str]  # (model, sender, natural key)


def store(
    parsed: list[tuple[Delivery, list[Event]]],
) -> dict[int, tuple[int, int, datetime | None]]:
    """Write the batch; per delivery id: (clicks created, duplicates, newest click time)."""
    ids = _upsert_shared(parsed)
    counts: dict[int, list] = {delivery.pk: [0, 0, None] for delivery, _ in parsed}
    seen: set[tuple[str, str]] = set()
    fresh: list[tuple[Delivery, ClickData]] = []
    for delivery, events in parsed:
        sender = delivery.endpoint.sender
        for click in (event.click for event in events if event.click):
            count = counts[delivery.pk]
            count[2] = max(count[2], click.occurred_at) if count[2] else click.occurred_at
            if (sender, click.click_key) in seen:
                count[1] += 1  # an earlier delivery of this batch brings it too
            else:
                seen.add((sender, click.click_key))
                fresh.append((delivery, click))

    stored = _stored_click_keys([(d.endpoint.sender, c.click_key) for d, c in fresh])
    # In time order, so that a visitor's first click is the one counted unique.
    fresh.sort(key=lambda pair: (pair[1].occurred_at, pair[1].click_key))
    rows = [
        _click_row(delivery, click, ids)
        for delivery, click in fresh
        if (delivery.endpoint.sender, click.click_key) not in stored
    ]
    firsts = _insert_first_clicks(
        {(row["scope"], row["visitor"]) for row in rows if row["visitor"]}
    )
    for row in rows:
        pair = (row.pop("scope"), row["visitor"])
        # Unique exactly when this click created its visitor's first-click row in the scope;
        # a click naming no visitor counts as a visitor of its own.
        row["is_unique"] = not row["visitor"] or pair in firsts
        firsts.discard(pair)
    created = _insert_clicks(rows)
    for delivery, click in fresh:
        new = (delivery.endpoint.sender, click.click_key) in created
        counts[delivery.pk][0 if new else 1] += 1
    return {pk: (count[0], count[1], count[2]) for pk, count in counts.items()}


def _upsert_shared(parsed: list[tuple[Delivery, list[Event]]]) -> dict[SharedKey, int]:
    """Insert or update every campaign, link and contact the batch names; their ids."""
    wanted: dict[SharedKey, dict[str, object]] = {}

    def want(model: type[models.Model], sender: str, data: object) -> None:
        key_field, fields = _SHARED[model]
        # A value the event lacks never erases a stored one; a later event's value wins.
        values = {name: getattr(data, name) for name in fields}
        present = {name: value for name, value in values.items() if value not in ("", None, {})}
        wanted.setdefault((model, sender, getattr(data, key_field)), {}).update(present)

    for delivery, events in parsed:
        sender = delivery.endpoint.sender
        for event in events:
            click = event.click
            for campaign in (event.campaign, click and click.campaign):
                if campaign:
                    want(Campaign, sender, campaign)
            if click and click.link:
                want(Link, sender, click.link)
            for contact in (click.recipient, click.sharer) if click else ():
                if contact:
                    want(Contact, sender, contact)

    ids: dict[SharedKey, int] = {}
    for model in _SHARED:
        ids |= _upsert(model, {k: v for k, v in wanted.items() if k[0] is model})
    return ids


def _upsert(model: type[models.Model], wanted: dict[SharedKey, dict[str, object]]) -> dict:
    if not wanted:
        return {}
    key_field, fields = _SHARED[model]
    by_sender: dict[str, list[str]] = {}
    for _, sender, key in wanted:
        by_sender.setdefault(sender, []).append(key)
    match = Q()
    for sender, keys in by_sender.items():
        match |= Q(sender=sender, **{f"{key_field}__in": keys})
    stored = {
        (model, row.sender, getattr(row, key_field)): row for row in model.objects.filter(match)
    }

    ids: dict[SharedKey, int] = {}
    changed = []
    now = timezone.now()
    for shared_key, values in sorted(wanted.items(), key=lambda item: item[0][1:]):
        row = stored.get(shared_key)
        if row is not None and all(getattr(row, name) == value for name, value in values.items()):
            ids[shared_key] = row.pk
            continue
        merged = {name: getattr(row, name) for name in fields} if row is not None else {}
        merged |= values
        _, sender, key = shared_key
        changed.append(model(sender=sender, **{key_field: key}, **merged, updated_at=now))
    if changed:
        written = model.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["sender", key_field],
            update_fields=[*fields, "updated_at"],
        )
        ids |= {(model, obj.sender, getattr(obj, key_field)): obj.pk for obj in written}
    return ids


def _click_row(delivery: Delivery, data: ClickData, ids: dict[SharedKey, int]) -> dict:
    sender = delivery.endpoint.sender

    def shared(model: type[models.Model], value: object | None) -> int | None:
        return ids[(model, sender, getattr(value, _SHARED[model][0]))] if value else None

    campaign_id = shared(Campaign, data.campaign)
    link_id = shared(Link, data.link)
    return {
        "scope": _scope(campaign_id, link_id, data.url),
        "sender": sender,
        "click_key": data.click_key,
        "external_id": data.external_id,
        "endpoint_id": delivery.endpoint_id,
        "delivery_id": delivery.pk,
        "occurred_at": data.occurred_at,
        "occurred_at_raw": data.occurred_at_raw,
        "received_at": delivery.received_at,
        "campaign_id": campaign_id,
        "link_id": link_id,
        "url": data.url,
        "country": data.country,
        "region": data.region,
        "city": data.city,
        "continent": data.continent,
        "latitude": data.latitude,
        "longitude": data.longitude,
        "device": data.device,
        "browser": data.browser,
        "os": data.os,
        "referer": data.referer,
        "referer_url": data.referer_url,
        "is_qr": data.is_qr,
        "is_bot": data.is_bot,
        "is_unique": False,
        "ip": _stored_ip(data.ip),
        "visitor": _visitor(data),
        "recipient_id": shared(Contact, data.recipient),
        "sharer_id": shared(Contact, data.sharer),
        "utm_source": data.utm_source,
        "utm_medium": data.utm_medium,
        "utm_campaign": data.utm_campaign,
    }


def _stored_click_keys(keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    if not keys:
        return set()
    senders, click_keys = zip(*keys, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.sender, c.click_key
            FROM {Click._meta.db_table} c
            JOIN unnest(%s::text[], %s::text[]) AS k (sender, click_key)
              ON c.sender = k.sender AND c.click_key = k.click_key
            """,
            [list(senders), list(click_keys)],
        )
        return set(cursor.fetchall())


def _insert_first_clicks(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Record each (scope, visitor) not seen before; the pairs that were new."""
    if not pairs:
        return set()
    scopes, visitors = zip(*sorted(pairs), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {FirstClick._meta.db_table} (scope, visitor, created_at)
            SELECT scope, visitor, now() FROM unnest(%s::text[], %s::text[]) AS k (scope, visitor)
            ON CONFLICT (scope, visitor) DO NOTHING
            RETURNING scope, visitor
            """,
            [list(scopes), list(visitors)],
        )
        return set(cursor.fetchall())


def _insert_clicks(rows: list[dict[str, object]]) -> set[tuple[str, str]]:
    """Insert the clicks and their pending-rollup rows in one statement; the keys inserted."""
    if not rows:
        return set()
    columns = ", ".join(connection.ops.quote_name(column) for column in _CLICK_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for kind in _CLICK_COLUMNS.values())
    params = [[row[column] for row in rows] for column in _CLICK_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH click AS (
                INSERT INTO {Click._meta.db_table} ({columns})
                SELECT * FROM unnest({arrays})
                ON CONFLICT (sender, click_key) DO NOTHING
                RETURNING id, sender, click_key
            ), pending AS (
                INSERT INTO {PendingRollup._meta.db_table} (click_id) SELECT id FROM click
            )
            SELECT sender, click_key FROM click
            """,
            params,
        )
        return set(cursor.fetchall())


def _visitor(data: ClickData) -> str:
    """A salted hash naming the visitor: the e-mail when known, else IP + user agent, else IP."""
    if data.recipient and data.recipient.email:
        basis = f"email:{data.recipient.email}"
    elif data.ip:
        basis = f"ip:{data.ip}|{data.user_agent}"
    else:
        return ""
    salt = settings.VISITOR_HASH_SALT.encode()
    return hmac.new(salt, basis.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]


def _stored_ip(ip: str | None) -> str | None:
    """The IP as kept: truncated to its network (/24, /48) unless TRUNCATE_IPS is off."""
    if not ip or not settings.TRUNCATE_IPS:
        return ip
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def _scope(campaign_id: int | None, link_id: int | None, url: str) -> str:
    if campaign_id:
        return f"campaign:{campaign_id}"
    if link_id:
        return f"link:{link_id}"
    return f"url:{derived_key(url)}"
