"""The only writer of clicks: store a delivery raw, then turn it into campaigns, people and clicks.

``receive`` stores the raw delivery; ``process`` then writes everything the delivery implies in
a transaction (a savepoint inside the webhook view's transaction, so one commit per webhook) and
records the outcome on the delivery. A delivery that fails to process is kept, as failed.
Processing is idempotent: clicks are deduplicated by a unique constraint, so a redelivery, a
concurrent copy or a reprocess never creates a second click.
"""

import hashlib
import hmac
import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.utils import timezone

from analytics.models import (
    Campaign,
    Click,
    Contact,
    Delivery,
    FirstClick,
    Link,
    PendingRollup,
    WebhookEndpoint,
)
from analytics.senders import CampaignData, ClickData, ContactData, Event, LinkData, parser_for
from analytics.senders.fields import derived_key


def receive(
    endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str], remote_addr: str | None
) -> Delivery:
    return Delivery.objects.create(
        endpoint=endpoint, body=body, headers=headers, remote_addr=remote_addr
    )


def process(delivery: Delivery) -> Delivery:
    """Parse and store a delivery; its status, counts and error say what happened.

    A ``PayloadError`` (the body does not fit the sender's shape) and any unexpected error are
    recorded on the delivery as ``failed`` and re-raised for the caller to answer. Database outages
    propagate untouched: the delivery stays as it was and a retry or reprocess finishes it.
    """
    endpoint = delivery.endpoint
    delivery.attempts += 1
    try:
        events = parser_for(endpoint.sender)(bytes(delivery.body), endpoint.zone)
        delivery.event_type = ",".join(dict.fromkeys(event.event_type for event in events))[:100]
        with transaction.atomic():
            _store(delivery, endpoint, events)
    except Exception as exc:
        if not _is_outage(exc):
            _fail(delivery, exc)
        raise
    return delivery


def _store(delivery: Delivery, endpoint: WebhookEndpoint, events: list[Event]) -> None:
    writer = _Writer(endpoint)
    # Rows are locked in one global order (shared rows by key, then clicks by time and key):
    # two deliveries naming the same prospects or clicks in different orders would otherwise
    # each wait for the other (a deadlock, answered 503). In time order, the first click of a
    # visitor is also the one counted unique.
    writer.shared_rows(events)
    clicks = sorted(
        (event.click for event in events if event.click),
        key=lambda click: (click.occurred_at, click.click_key),
    )
    ignored = len(events) - len(clicks)
    created = sum(writer.click(click, delivery) for click in clicks)
    duplicates = len(clicks) - created

    if created:
        status = Delivery.Status.PROCESSED
    elif duplicates:
        status = Delivery.Status.DUPLICATE
    else:
        status = Delivery.Status.IGNORED
    delivery.status = status
    delivery.error = ""
    delivery.clicks_created, delivery.duplicates, delivery.ignored = created, duplicates, ignored
    delivery.processed_at = timezone.now()
    delivery.save(update_fields=_OUTCOME_FIELDS)


_OUTCOME_FIELDS = [
    "status",
    "error",
    "event_type",
    "clicks_created",
    "duplicates",
    "ignored",
    "attempts",
    "processed_at",
]


def _fail(delivery: Delivery, exc: Exception) -> None:
    delivery.status = Delivery.Status.FAILED
    delivery.error = str(exc) or exc.__class__.__name__
    delivery.clicks_created = delivery.duplicates = delivery.ignored = 0
    delivery.processed_at = timezone.now()
    delivery.save(update_fields=_OUTCOME_FIELDS)


def _is_outage(exc: Exception) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


@dataclass
class _Writer:
    """Writes one delivery's rows, remembering the ids it has upserted along the way."""

    endpoint: WebhookEndpoint

    def __post_init__(self) -> None:
        self._ids: dict[tuple, int] = {}

    def shared_rows(self, events: list[Event]) -> None:
        """Upsert every campaign, link and contact the events name, each kind in key order."""
        campaigns, links, contacts = [], [], []
        for event in events:
            click = event.click
            campaigns += [c for c in (event.campaign, click and click.campaign) if c]
            links += [click.link] if click and click.link else []
            contacts += [c for c in (click.recipient, click.sharer) if c] if click else []
        for campaign in sorted(campaigns, key=lambda data: data.external_id):
            self.campaign(campaign)
        for link in sorted(links, key=lambda data: data.external_id):
            self.link(link)
        for contact in sorted(contacts, key=lambda data: data.email):
            self.contact(contact)

    def campaign(self, data: CampaignData) -> int:
        return self._upsert(
            Campaign,
            external_id=data.external_id,
            name=data.name,
            destination_url=data.destination_url,
            status=data.status,
            utm_source=data.utm_source,
            utm_medium=data.utm_medium,
            utm_campaign=data.utm_campaign,
            details=data.details,
        )

    def link(self, data: LinkData) -> int:
        return self._upsert(Link, **vars(data))

    def contact(self, data: ContactData) -> int:
        return self._upsert(
            Contact,
            email=data.email,
            external_id=data.external_id,
            name=data.name,
            company=data.company,
        )

    def click(self, data: ClickData, delivery: Delivery) -> bool:
        """Insert the click unless it is already stored; True when it was new."""
        campaign_id = self.campaign(data.campaign) if data.campaign else None
        link_id = self.link(data.link) if data.link else None
        recipient_id = self.contact(data.recipient) if data.recipient else None
        row = {
            "sender": self.endpoint.sender,
            "click_key": data.click_key,
            "external_id": data.external_id,
            "endpoint_id": self.endpoint.pk,
            "delivery_id": delivery.pk,
            "occurred_at": data.occurred_at,
            "occurred_at_raw": data.occurred_at_raw,
            "received_at": timezone.now(),
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
            "ip": _stored_ip(data.ip),
            "visitor": _visitor(data),
            "recipient_id": recipient_id,
            "sharer_id": self.contact(data.sharer) if data.sharer else None,
            "utm_source": data.utm_source,
            "utm_medium": data.utm_medium,
            "utm_campaign": data.utm_campaign,
        }
        scope = _scope(campaign_id, link_id, data.url)
        return _insert_click(row, scope)

    def _upsert(self, model: type[models.Model], **values: object) -> int:
        """Insert or update by (sender, natural key); a value the event lacks never erases one."""
        key_field = "email" if model is Contact else "external_id"
        lookup = {"sender": self.endpoint.sender, key_field: values.pop(key_field)}
        cache_key = (model, *lookup.values())
        if cache_key in self._ids:
            return self._ids[cache_key]
        values = {name: value for name, value in values.items() if value not in ("", None, {})}
        pk = _known_pk(cache_key, values)
        if pk is None:
            row = model.objects.filter(**lookup).values("pk", *values).first()
            if row and all(row[name] == value for name, value in values.items()):
                pk = row["pk"]
            else:
                # ON CONFLICT DO UPDATE: two first sightings at the same moment cannot collide.
                (obj,) = model.objects.bulk_create(
                    [model(**lookup, **values, updated_at=timezone.now())],
                    update_conflicts=True,
                    unique_fields=list(lookup),
                    update_fields=[*values, "updated_at"],
                )
                pk = obj.pk
            # Remembered once committed: a rolled-back row must never be pointed at.
            known = (time.monotonic(), pk, values)
            transaction.on_commit(lambda: _remember(cache_key, known))
        self._ids[cache_key] = pk
        return pk


# Campaigns, links and contacts as this process last stored them: a webhook naming an unchanged
# one skips its SELECT, which was a third of intake's database time. Entries expire, so an edit
# made elsewhere (the admin, another worker) is read again within a minute.
_KNOWN: dict[tuple, tuple[float, int, dict[str, object]]] = {}
_KNOWN_SECONDS = 60
_KNOWN_MAX = 50_000


def _known_pk(cache_key: tuple, values: dict[str, object]) -> int | None:
    known = _KNOWN.get(cache_key)
    if known is None or time.monotonic() - known[0] > _KNOWN_SECONDS:
        return None
    _, pk, stored = known
    same = all(name in stored and stored[name] == value for name, value in values.items())
    return pk if same else None


def _remember(cache_key: tuple, known: tuple[float, int, dict[str, object]]) -> None:
    if len(_KNOWN) >= _KNOWN_MAX:
        _KNOWN.clear()
    _KNOWN[cache_key] = known


def forget_known_rows() -> None:
    """Drop what this process remembers of stored rows (tests, after deleting rows)."""
    _KNOWN.clear()


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


def _insert_click(row: dict[str, object], scope: str) -> bool:
    """Insert the click, its first-click mark and its pending-rollup row in one statement."""
    columns = ", ".join(connection.ops.quote_name(column) for column in row)
    placeholders = ", ".join(["%s"] * len(row))
    params = list(row.values())
    if row["visitor"]:
        # The click is unique exactly when it is the first of its visitor in its scope.
        first = f"""
            first AS (
                INSERT INTO {FirstClick._meta.db_table} (scope, visitor, created_at)
                VALUES (%s, %s, now())
                ON CONFLICT (scope, visitor) DO NOTHING
                RETURNING 1
            ),"""
        is_unique = "EXISTS (SELECT FROM first)"
        params = [scope, row["visitor"], *params]
    else:
        # Nothing names the visitor: every such click counts as a visitor of its own.
        first, is_unique = "", "TRUE"
    sql = f"""
        WITH {first} click AS (
            INSERT INTO {Click._meta.db_table} ({columns}, is_unique)
            VALUES ({placeholders}, {is_unique})
            ON CONFLICT (sender, click_key) DO NOTHING
            RETURNING id
        ), pending AS (
            INSERT INTO {PendingRollup._meta.db_table} (click_id) SELECT id FROM click
        )
        SELECT id FROM click
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None
