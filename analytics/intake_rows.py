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
import json
import operator
from datetime import datetime

from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from analytics import bot_rows, bots, campaigns
from analytics.bot_reasons import BotReason
from analytics.models import Campaign, Click, Contact, Delivery, FirstClick, Link, PendingRollup
from analytics.senders import SENDERS, ClickData, Event
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
    "bot_reason": "text",
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
    campaigns.assign_new([pk for (model, _, _), pk in ids.items() if model is Campaign])
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
    # Read once: a setting is a lazy object's attribute, slow enough to show per click.
    salt = settings.VISITOR_HASH_SALT.encode()
    rows = [
        _click_row(delivery, click, ids, salt)
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
    bot_rows.mark_bursts(rows)
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
            if event.campaign:
                want(Campaign, sender, event.campaign)
            # Parsers give the click its event's campaign: wanting the same object again
            # right after would change nothing.
            if click and click.campaign and click.campaign is not event.campaign:
                want(Campaign, sender, click.campaign)
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
    stored = {(model, row["sender"], row[key_field]): row for row in _stored_shared(model, wanted)}

    ids: dict[SharedKey, int] = {}
    changed = []
    now = timezone.now()
    for shared_key, values in sorted(wanted.items(), key=lambda item: item[0][1:]):
        row = stored.get(shared_key)
        if row is not None and all(row[name] == value for name, value in values.items()):
            ids[shared_key] = row["id"]
            continue
        merged = {name: row[name] for name in fields} if row is not None else {}
        merged |= values
        _, sender, key = shared_key
        changed.append({"sender": sender, key_field: key, **merged, "updated_at": now})
    if changed:
        ids |= {(model, sender, key): pk for pk, sender, key in _write_shared(model, changed)}
    return ids


def _stored_shared(model: type[models.Model], wanted: dict[SharedKey, object]) -> list[dict]:
    """The stored rows of `wanted` (id, sender, natural key and the values events carry), as
    the ORM would read them, in one SELECT joined on the keys: filtering on a Q of IN lists
    makes the ORM compile a placeholder per key."""
    key_field, fields = _SHARED[model]
    quote = connection.ops.quote_name
    selected = [model._meta.get_field(name) for name in ["id", "sender", key_field, *fields]]
    records, param = _records(["text", "text"], [[sender, key] for _, sender, key in wanted])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(f't.{quote(f.column)}' for f in selected)}"
            f" FROM {quote(model._meta.db_table)} t"
            f" JOIN {records} AS k (sender, key)"
            f" ON t.sender = k.sender AND t.{quote(key_field)} = k.key",
            [param],
        )
        converters = [
            (index, field)
            for index, field in enumerate(selected)
            if hasattr(field, "from_db_value")
        ]
        rows = []
        for values in cursor.fetchall():
            values = list(values)
            for index, field in converters:
                values[index] = field.from_db_value(values[index], None, connection)
            rows.append(dict(zip([f.name for f in selected], values, strict=True)))
        return rows


def _write_shared(model: type[models.Model], rows: list[dict]) -> list[tuple[int, str, str]]:
    """Insert the rows, or update the existing ones (by sender and natural key) with their
    values; (id, sender, key) of each. One INSERT ... SELECT ... ON CONFLICT DO UPDATE: what
    ``bulk_create(update_conflicts=True)`` sends, without the ORM compiling a placeholder per
    value, which cost the worker more than the rest of a batch's statements together.
    A column a row does not name gets the field's default, as a new model instance would."""
    key_field, fields = _SHARED[model]
    quote = connection.ops.quote_name
    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    kinds = []
    for field in columns:
        kind = field.db_type(connection)
        if isinstance(field, models.CharField | models.TextField):
            kind = "text"  # not varchar(n): a cast would cut a long value, an insert refuses it
        kinds.append(kind)
    # One moment for the batch's timestamps (it is one transaction), not a call per row.
    now = timezone.now()
    defaults = [now if f.default is timezone.now else None for f in columns]
    values = [
        [
            row[f.name] if f.name in row else (default or f.get_default())
            for f, default in zip(columns, defaults, strict=True)
        ]
        for row in rows
    ]
    for index, field in enumerate(columns):
        if isinstance(field, models.JSONField) and field.encoder is not None:
            for row in values:  # as the field would serialize it
                row[index] = json.loads(json.dumps(row[index], cls=field.encoder))
    records, param = _records(kinds, values)
    names = ", ".join(quote(field.column) for field in columns)
    updated = ", ".join(f"{quote(n)} = EXCLUDED.{quote(n)}" for n in [*fields, "updated_at"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({names})"
            f" SELECT * FROM {records} AS records"
            f" ON CONFLICT (sender, {quote(key_field)}) DO UPDATE SET {updated}"
            f" RETURNING id, sender, {quote(key_field)}",
            [param],
        )
        return cursor.fetchall()


def _click_row(delivery: Delivery, data: ClickData, ids: dict[SharedKey, int], salt: bytes) -> dict:
    sender = delivery.endpoint.sender

    def shared(model: type[models.Model], value: object | None) -> int | None:
        return ids[(model, sender, getattr(value, _SHARED[model][0]))] if value else None

    campaign_id = shared(Campaign, data.campaign)
    link_id = shared(Link, data.link)
    reason = bots.reason(SENDERS[sender], data)
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
        "is_bot": reason != BotReason.HUMAN,
        "bot_reason": reason,
        "is_unique": False,
        "ip": _stored_ip(data.ip),
        "visitor": _visitor(data, salt),
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
    values = operator.itemgetter(*_CLICK_COLUMNS)
    records, param = _records(list(_CLICK_COLUMNS.values()), [values(row) for row in rows])
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH click AS (
                INSERT INTO {Click._meta.db_table} ({columns})
                SELECT * FROM {records} AS records
                ON CONFLICT (sender, click_key) DO NOTHING
                RETURNING id, sender, click_key
            ), pending AS (
                INSERT INTO {PendingRollup._meta.db_table} (click_id) SELECT id FROM click
            )
            SELECT sender, click_key FROM click
            """,
            [param],
        )
        return set(cursor.fetchall())


def _records(kinds: list[str], rows: list[list[object]]) -> tuple[str, str]:
    """A FROM item yielding `rows` (in order) as columns of the PostgreSQL types `kinds`, and
    its one parameter: the rows as one JSON array of arrays.

    Serializing that is one C call (datetimes as ISO 8601, which PostgreSQL reads back exactly);
    the same rows as one text-format array per column cost the client a Python-level escape of
    every value, 2-3x as much, for the same work on the server.
    """
    columns = ", ".join(
        f"r->{i}" if kind == "jsonb" else f"(r->>{i})::{kind}" for i, kind in enumerate(kinds)
    )
    data = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_iso)
    return f"(SELECT {columns} FROM jsonb_array_elements(%s::jsonb) AS r)", data


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _visitor(data: ClickData, salt: bytes) -> str:
    """A salted hash naming the visitor: the e-mail when known, else IP + user agent, else IP."""
    if data.recipient and data.recipient.email:
        basis = f"email:{data.recipient.email}"
    elif data.ip:
        basis = f"ip:{data.ip}|{data.user_agent}"
    else:
        return ""
    return hmac.new(salt, basis.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]


def _stored_ip(ip: str | None) -> str | None:
    """The IP as kept: truncated to its network (/24, /48) unless TRUNCATE_IPS is off."""
    if not ip or not settings.TRUNCATE_IPS:
        return ip
    address = ipaddress.ip_address(ip)
    # The network address of its /24 or /48, masked directly: ip_network() costs 3x as much.
    if address.version == 4:
        return str(ipaddress.IPv4Address(int(address) & _IPV4_NETWORK))
    return str(ipaddress.IPv6Address(int(address) & _IPV6_NETWORK))


_IPV4_NETWORK = ~((1 << 8) - 1) & (2**32 - 1)  # /24
_IPV6_NETWORK = ~((1 << 80) - 1) & (2**128 - 1)  # /48


def _scope(campaign_id: int | None, link_id: int | None, url: str) -> str:
    if campaign_id:
        return f"campaign:{campaign_id}"
    if link_id:
        return f"link:{link_id}"
    return f"url:{derived_key(url)}"
