import json
from dataclasses import replace
from pathlib import Path

import pytest

from analytics.models import Sender, WebhookEndpoint
from analytics.senders import SENDERS

PAYLOADS = Path(__file__).parent / "payloads"
DUB_SECRET = "whsec_0123456789abcdef0123456789abcdef"


def payload(name: str) -> object:
    """A sample payload, e.g. ``payload("dub/link_clicked")``: tests/payloads has one folder per
    sender, holding its documented examples."""
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def js_json(value: object) -> bytes:
    """Bytes as JavaScript's JSON.stringify sends them: no spaces, non-ASCII unescaped."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def post_webhook(client, endpoint: WebhookEndpoint, body: bytes, *, process=True, **headers):
    """POST ``body`` to the endpoint, signed or with its bearer token when it has a secret.

    Then, unless ``process=False``, the processing worker's work: every queued delivery is
    processed, so the database shows what the delivery became.
    """
    if endpoint.secret:
        headers = SENDERS[endpoint.sender].sign_headers(endpoint.secret, body) | headers
    response = client.post(
        endpoint.get_absolute_url(), body, content_type="application/json", headers=headers
    )
    if process:
        process_queue()
    return response


def replace_parser(patch: pytest.MonkeyPatch, sender: str, parse) -> None:
    """Give ``sender`` another parser until ``patch`` is undone: the worker reads the registry."""
    patch.setitem(SENDERS, sender, replace(SENDERS[sender], parse=parse))


def process_queue() -> None:
    """Process every queued delivery, as ``run_worker`` does."""
    from analytics import intake

    while intake.process_queued(1000).total:
        pass


def accepted(delivery_pk: int) -> dict:
    """The JSON body a webhook answers 200 with: the delivery is stored and queued."""
    return {"delivery": delivery_pk, "status": "received"}


def summary(
    delivery_pk: int, status: str, *, created: int = 0, duplicates: int = 0, ignored: int = 0
) -> dict:
    """A processed delivery's outcome, as ``outcome`` reads it."""
    return {
        "delivery": delivery_pk,
        "status": status,
        "clicks_created": created,
        "duplicates": duplicates,
        "ignored": ignored,
    }


def outcome(response) -> dict:
    """What became of the delivery a 200 accepted, in the shape of ``summary``."""
    from analytics.models import Delivery

    pk = response.json()["delivery"]
    delivery = Delivery.objects.get(pk=pk)
    return summary(
        pk,
        delivery.status,
        created=delivery.clicks_created,
        duplicates=delivery.duplicates,
        ignored=delivery.ignored,
    )


def assert_kept_as_failed(response, body: bytes) -> str:
    """Check a 400 whose delivery was kept byte for byte as failed; return the error."""
    from analytics.models import Delivery

    assert response.status_code == 400
    error = response.json()["error"]
    delivery = Delivery.objects.get()
    assert response.json() == {"error": error, "delivery": delivery.pk, "kept_as": "failed"}
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.error == error
    assert bytes(delivery.body) == body
    return error


def assert_failed_in_processing(response, body: bytes) -> str:
    """Check a 200 whose delivery was accepted, then kept byte for byte as failed by processing
    with no click of its own; return the error processing recorded.

    Deep shape errors (a missing field, a bad time) are the worker's to find: the sender is told
    only that the delivery was accepted.
    """
    from analytics.models import Click, Delivery

    assert response.status_code == 200
    delivery = Delivery.objects.get(pk=response.json()["delivery"])
    assert response.json() == accepted(delivery.pk)
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.error
    assert delivery.attempts == 1
    assert (delivery.clicks_created, delivery.duplicates, delivery.ignored) == (0, 0, 0)
    assert bytes(delivery.body) == body
    assert not Click.objects.filter(delivery=delivery).exists()
    return delivery.error


@pytest.fixture
def dub_endpoint(db) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(sender=Sender.DUB, name="Acme", secret=DUB_SECRET)


@pytest.fixture
def heyoo_endpoint(db) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        sender=Sender.HEYOO, name="Acme", secret="whsec_fedcba9876543210fedcba9876543210"
    )


@pytest.fixture
def woodpecker_endpoint(db) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(sender=Sender.WOODPECKER, name="Outbound")


@pytest.fixture
def opptima_endpoint(db) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        sender=Sender.OPPTIMA, name="Newsletter", secret="opp_live_key_123"
    )


@pytest.fixture
def make_click(db):
    """Create a Click row directly, for tests of what is read back (stats, exports, admin)."""
    from itertools import count

    from analytics.models import Click, PendingRollup

    endpoints: dict[str, WebhookEndpoint] = {}
    serial = count(1)

    def make(occurred_at, **fields):
        sender = fields.pop("sender", Sender.DUB)
        if sender not in endpoints:
            endpoints[sender] = WebhookEndpoint.objects.create(sender=sender, name=f"{sender} test")
        key = f"test-{next(serial)}"
        fields.setdefault("is_unique", True)
        if fields.get("is_bot"):
            fields.setdefault("bot_reason", "user_agent")  # every bot carries its reason
        elif fields.get("bot_reason"):
            fields["is_bot"] = True
        click = Click.objects.create(
            sender=sender,
            endpoint=endpoints[sender],
            click_key=key,
            external_id=key,
            occurred_at=occurred_at,
            **fields,
        )
        # As intake does: a stored click awaits the rollup worker, and the stats count it.
        PendingRollup.objects.create(click=click)
        return click

    return make


@pytest.fixture
def make_campaign(db):
    """A sender campaign; saving gives it its canonical campaign, whose id ``campaign=``
    filters by (``campaign.canonical_id``)."""
    from analytics.models import Campaign

    def make(name: str, sender: str = Sender.DUB):
        return Campaign.objects.create(sender=sender, external_id=name, name=name)

    return make


@pytest.fixture
def marketer_group(db):
    """The Marketer group as its data migration makes it.

    A transactional test ends by flushing every table, and the flush re-creates permissions but
    not this group, so a later test cannot count on the migration's row.
    """
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name="Marketer")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="analytics", codename="view_dashboard")
    )
    return group


@pytest.fixture
def make_marketer(marketer_group, django_user_model):
    def make(username: str):
        user = django_user_model.objects.create_user(
            username, f"{username}@example.com", "a-long-passphrase"
        )
        user.groups.add(marketer_group)
        return user

    return make


@pytest.fixture
def marketer(make_marketer):
    return make_marketer("mia")


@pytest.fixture
def marketer_client(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture(autouse=True)
def _fresh_intake_state(settings, tmp_path):
    """Each test starts with full per-endpoint buckets, no remembered endpoints or kept answers
    (all live in the process; a rolled-back test's rows are gone) and a spool file of its own."""
    from django.core.cache import cache

    from analytics import acceptance, closed_counts, ratelimit, spool

    ratelimit.reset()
    cache.clear()  # the shared links' rate limits and password attempts
    # Answers kept for closed days in a directory of the test's own: a rolled-back test leaves
    # the version token as it was, so another test's (or the dev server's) would look current.
    settings.CACHES = {
        **settings.CACHES,
        closed_counts.CACHE: {
            **settings.CACHES[closed_counts.CACHE],
            "LOCATION": tmp_path / "kept",
        },
    }
    acceptance.forget_endpoints()
    spool.close()
    settings.WEBHOOK_SPOOL_PATH = tmp_path / "spool" / "deliveries.sqlite3"
    # Tests roll clicks up as soon as they are stored; tests of late evidence set a window.
    settings.BOT_LATE_EVIDENCE_SECONDS = 0
    yield
    spool.close()
    acceptance.forget_endpoints()


@pytest.fixture(scope="session", autouse=True)
def _page_read_helpers_closed(django_db_setup, django_db_blocker):
    """The dashboard's read helpers keep a connection each (analytics/page_reads.py): closed
    before the test database is dropped, which refuses while anyone is connected."""
    yield
    from analytics import page_reads

    with django_db_blocker.unblock():
        page_reads.shutdown()
