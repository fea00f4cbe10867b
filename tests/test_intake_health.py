"""The intake health page and the endpoint list's intake columns, for staff."""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import AbstractUser
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics import spool
from analytics.intake_health import EndpointHealth, endpoint_health, format_duration
from analytics.models import Delivery, Sender, WebhookEndpoint

URL = "/intake/"
ENDPOINT_LIST = "/admin/analytics/webhookendpoint/"
DELIVERY_LIST = "/admin/analytics/delivery/"
# Session, user, the endpoints with their last delivery, the one aggregate over deliveries.
PAGE_QUERIES = 4
# Session, user, the filtered and the full count, the page of endpoints with its columns.
ENDPOINT_LIST_QUERIES = 5
RECEIVED, PROCESSED, DUPLICATE, FAILED = (
    Delivery.Status.RECEIVED,
    Delivery.Status.PROCESSED,
    Delivery.Status.DUPLICATE,
    Delivery.Status.FAILED,
)


@pytest.fixture
def staff_user(django_user_model: type[AbstractUser]) -> AbstractUser:
    """Staff without any model permission: the page asks for nothing more."""
    return django_user_model.objects.create_user("sol", password="a-long-passphrase", is_staff=True)


@pytest.fixture
def staff_client(client: Client, staff_user: AbstractUser) -> Client:
    client.force_login(staff_user)
    return client


@pytest.fixture
def now() -> datetime:
    return timezone.now()


@pytest.fixture
def deliver(now: datetime) -> Callable[..., Delivery]:
    """Store a delivery received ``ago`` before ``now``, as the worker left it."""

    def make(
        endpoint: WebhookEndpoint,
        ago: timedelta,
        status: str = PROCESSED,
        clicks: int = 0,
        lag: timedelta | None = None,
    ) -> Delivery:
        return Delivery.objects.create(
            endpoint=endpoint,
            body=b"{}",
            status=status,
            received_at=now - ago,
            clicks_created=clicks,
            click_lag=lag,
        )

    return make


def _endpoint(name: str, sender: str = Sender.DUB, **fields: object) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(sender=sender, name=name, **fields)


def _health(now: datetime) -> dict[str, EndpointHealth]:
    return {h.endpoint.name: h for h in endpoint_health(now)}


def _kinds(health: EndpointHealth) -> list[str]:
    return [warning.kind for warning in health.warnings]


def _row(response: HttpResponse, endpoint: WebhookEndpoint) -> str:
    """The page's table row of ``endpoint``, from its opening tag."""
    html = response.content.decode()
    start = html.rindex("<tr", 0, html.index(f'id="endpoint-{endpoint.pk}"'))
    return html[start : html.index("</tr>", start)]


def _spool_one(endpoint: WebhookEndpoint) -> None:
    spool.write(
        spool.RawDelivery(
            spool_id=uuid.uuid4(),
            endpoint_id=endpoint.pk,
            received_at=timezone.now(),
            remote_addr=None,
            headers={},
            body=b"{}",
            status=RECEIVED,
            error="",
        )
    )


def _endpoints_with_deliveries(count: int, deliver: Callable[..., Delivery]) -> None:
    for number in range(count):
        endpoint = _endpoint(f"Workspace {number}")
        deliver(endpoint, timedelta(minutes=10), clicks=2, lag=timedelta(seconds=3))
        deliver(endpoint, timedelta(minutes=20), status=RECEIVED)
        deliver(endpoint, timedelta(hours=2), status=FAILED)


# ------------------------------------------------------------------ figures


def test_figures_count_each_window_status_and_lag(
    db: None, now: datetime, deliver: Callable[..., Delivery]
) -> None:
    busy = _endpoint("Busy")
    _endpoint("Idle", Sender.WOODPECKER)
    deliver(busy, timedelta(minutes=10), clicks=3, lag=timedelta(seconds=2))
    deliver(busy, timedelta(minutes=20), status=RECEIVED)
    deliver(busy, timedelta(hours=2), status=FAILED)
    deliver(busy, timedelta(hours=3), clicks=2, lag=timedelta(seconds=10))
    deliver(busy, timedelta(hours=5), status=DUPLICATE)
    # Older than a day: only in "last delivery" and the all-time failed count.
    deliver(busy, timedelta(days=2), clicks=7, lag=timedelta(hours=1))
    deliver(busy, timedelta(days=3), status=FAILED)

    health = _health(now)

    b = health["Busy"]
    assert b.last_delivery == now - timedelta(minutes=10)
    assert (b.deliveries_hour, b.deliveries_day) == (2, 5)
    assert (b.clicks_hour, b.clicks_day) == (3, 5)
    assert (b.failed_day, b.failed_total) == (1, 2)
    assert (b.queued, b.backlog, b.spooled) == (1, timedelta(minutes=20), 0)
    # Interpolated over the last day's two lags, 2 s and 10 s.
    assert b.lag_p50 == timedelta(seconds=6)
    assert b.lag_p95 == timedelta(seconds=9.6)
    assert _kinds(b) == ["failed", "backlog"]
    i = health["Idle"]
    assert i.last_delivery is None
    assert (i.deliveries_day, i.clicks_day, i.failed_total, i.queued) == (0, 0, 0, 0)
    assert (i.backlog, i.lag_p50, i.lag_p95, i.warnings) == (None, None, None, ())


def test_backlog_warns_only_past_the_configured_age(
    db: None, now: datetime, deliver: Callable[..., Delivery], settings: object
) -> None:
    settings.INTAKE_BACKLOG_WARNING_SECONDS = 600
    deliver(_endpoint("Fresh"), timedelta(minutes=9), status=RECEIVED)
    deliver(_endpoint("Stuck"), timedelta(minutes=11), status=RECEIVED)

    health = _health(now)

    assert _kinds(health["Fresh"]) == []
    assert _kinds(health["Stuck"]) == ["backlog"]
    assert "11 min" in health["Stuck"].warnings[0].message


def test_silence_warns_only_for_an_endpoint_that_usually_receives(
    staff_client: Client, now: datetime, deliver: Callable[..., Delivery], settings: object
) -> None:
    settings.INTAKE_SILENCE_HOURS = 6
    quiet, fresh, busy = _endpoint("Quiet"), _endpoint("Fresh"), _endpoint("Busy")
    gone, off = _endpoint("Gone"), _endpoint("Off", is_active=False)
    deliver(quiet, timedelta(days=2))
    deliver(quiet, timedelta(hours=7))
    deliver(busy, timedelta(days=2))
    deliver(busy, timedelta(hours=1))
    deliver(gone, timedelta(days=30))  # not "usually receives" any more
    deliver(off, timedelta(days=2))

    health = _health(now)
    response = staff_client.get(URL)

    assert {name: _kinds(h) for name, h in health.items()} == {
        "Quiet": ["silent"],
        "Fresh": [],
        "Busy": [],
        "Gone": [],
        "Off": ["disabled"],  # its silence is expected, not a second warning
    }
    assert "Nothing received for 7 h" in health["Quiet"].warnings[0].message
    assert response.status_code == 200
    quiet_row, fresh_row = _row(response, quiet), _row(response, fresh)
    assert quiet_row.startswith('<tr class="intake-row intake-row--warn"')
    assert '<span class="badge badge--silent">Silent</span>' in quiet_row
    assert fresh_row.startswith('<tr class="intake-row"')
    assert "Never" in fresh_row and "badge--ok" in fresh_row


def test_spooled_deliveries_are_counted_per_endpoint(staff_client: Client, now: datetime) -> None:
    waiting = _endpoint("Waiting")
    _endpoint("Other")
    _spool_one(waiting)
    _spool_one(waiting)

    assert spool.pending_by_endpoint() == {waiting.pk: 2}
    health = _health(now)
    response = staff_client.get(URL)

    assert (health["Waiting"].spooled, health["Other"].spooled) == (2, 0)
    assert _kinds(health["Waiting"]) == ["spooled"]
    assert response.status_code == 200
    assert response.context["spooled_total"] == 2
    assert b"2 deliveries accepted while PostgreSQL was away still wait" in response.content


def test_no_spool_file_means_nothing_spooled(db: None, settings: object) -> None:
    assert not settings.WEBHOOK_SPOOL_PATH.exists()

    assert spool.pending_by_endpoint() == {}


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (None, "\N{EN DASH}"),
        (timedelta(seconds=2.25), "2.2 s"),
        (timedelta(seconds=42), "42 s"),
        (timedelta(minutes=14, seconds=59), "14 min"),
        (timedelta(hours=3, minutes=5), "3 h 5 min"),
        (timedelta(hours=3), "3 h"),
        (timedelta(days=2, hours=4, minutes=30), "2 d 4 h"),
        (timedelta(hours=-2), "\N{MINUS SIGN}2 h"),
    ],
)
def test_durations_read_as_short_labels(value: timedelta | None, label: str) -> None:
    assert format_duration(value) == label


# ------------------------------------------------------------------ the page


def test_page_lists_each_endpoint_with_links_to_its_deliveries(
    staff_client: Client, now: datetime, deliver: Callable[..., Delivery]
) -> None:
    endpoint = _endpoint("Acme")
    deliver(endpoint, timedelta(hours=2), status=FAILED)
    deliver(endpoint, timedelta(minutes=1), status=RECEIVED)

    response = staff_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    base = f"{DELIVERY_LIST}?endpoint__id__exact={endpoint.pk}"
    assert f'href="{base}&amp;status__exact=failed"' in html
    assert f'href="{base}&amp;status__exact=received"' in html
    assert f'href="{base}"' in html
    assert reverse("admin:analytics_webhookendpoint_change", args=[endpoint.pk]) in html
    assert "20 consecutive failed deliveries" in html
    assert "Settings → Webhooks" in html
    # Strict CSP: nothing inline.
    assert "<script" not in html and " style=" not in html


def test_admin_delivery_link_lists_only_that_endpoints_failures(
    admin_client: Client, deliver: Callable[..., Delivery]
) -> None:
    acme, other = _endpoint("Acme"), _endpoint("Other")
    failed = deliver(acme, timedelta(hours=2), status=FAILED)
    deliver(acme, timedelta(hours=1))
    deliver(other, timedelta(hours=2), status=FAILED)

    response = admin_client.get(
        f"{DELIVERY_LIST}?endpoint__id__exact={acme.pk}&status__exact=failed"
    )

    assert response.status_code == 200
    assert [d.pk for d in response.context["cl"].result_list] == [failed.pk]


def test_page_without_endpoints_offers_to_add_one(staff_client: Client) -> None:
    response = staff_client.get(URL)

    assert response.status_code == 200
    assert b"No webhook endpoints yet" in response.content
    assert reverse("admin:analytics_webhookendpoint_add").encode() in response.content


@pytest.mark.parametrize("endpoint_count", [1, 3])
def test_page_query_count_does_not_grow_with_endpoints(
    staff_client: Client,
    deliver: Callable[..., Delivery],
    django_assert_num_queries: Callable,
    endpoint_count: int,
) -> None:
    _endpoints_with_deliveries(endpoint_count, deliver)

    with django_assert_num_queries(PAGE_QUERIES):
        response = staff_client.get(URL)

    assert response.status_code == 200
    assert len(response.context["endpoints"]) == endpoint_count


# ------------------------------------------------------------------ who may see it


def test_anonymous_visitors_go_to_the_admin_sign_in(client: Client, db: None) -> None:
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={URL}"


def test_marketers_without_staff_go_to_the_admin_sign_in_as_in_the_admin(
    marketer_client: Client,
) -> None:
    # The admin itself sends a signed-in non-staff user to its sign-in page, saying why.
    assert marketer_client.get("/admin/").status_code == 302

    response = marketer_client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={URL}"


def test_navigation_links_the_page_for_staff_only(
    client: Client, staff_user: AbstractUser, marketer: AbstractUser
) -> None:
    client.force_login(staff_user)
    staff_page = client.get(URL).content.decode()
    client.force_login(marketer)
    marketer_page = client.get("/dashboard/").content.decode()

    assert f'href="{URL}" aria-current="page"' in staff_page
    assert 'href="/dashboard/"' in marketer_page
    assert f'href="{URL}"' not in marketer_page


# ------------------------------------------------------------------ the admin's endpoint list


def test_endpoint_list_shows_last_delivery_queued_and_failed(
    admin_client: Client, now: datetime, deliver: Callable[..., Delivery]
) -> None:
    acme = _endpoint("Acme")
    _endpoint("New")
    deliver(acme, timedelta(minutes=5), status=RECEIVED)
    deliver(acme, timedelta(minutes=30), status=RECEIVED)
    deliver(acme, timedelta(hours=3), status=FAILED)
    deliver(acme, timedelta(days=3), status=FAILED)  # older than the column's 24 h

    response = admin_client.get(ENDPOINT_LIST)

    assert response.status_code == 200
    rows = {e.name: e for e in response.context["cl"].result_list}
    assert (rows["Acme"].last_delivery, rows["Acme"].queued, rows["Acme"].failed_day) == (
        now - timedelta(minutes=5),
        2,
        1,
    )
    assert (rows["New"].last_delivery, rows["New"].queued, rows["New"].failed_day) == (None, 0, 0)
    html = response.content.decode()
    for header in ("last delivery", "queued", "failed (24 h)"):
        assert header in html.lower()
    assert '<td class="field-last_delivery">never</td>' in html


def test_endpoint_list_sorts_by_last_delivery(
    admin_client: Client, deliver: Callable[..., Delivery]
) -> None:
    old, recent = _endpoint("Old"), _endpoint("Recent")
    deliver(old, timedelta(days=1))
    deliver(recent, timedelta(minutes=1))
    column = admin_client.get(ENDPOINT_LIST).context["cl"].list_display.index("last_delivery")

    response = admin_client.get(f"{ENDPOINT_LIST}?o=-{column}")

    assert [e.name for e in response.context["cl"].result_list] == ["Recent", "Old"]


def test_endpoint_list_actions_still_work_on_the_annotated_rows(
    admin_client: Client, deliver: Callable[..., Delivery]
) -> None:
    endpoint = _endpoint("Acme")
    deliver(endpoint, timedelta(minutes=1), status=RECEIVED)

    response = admin_client.post(
        ENDPOINT_LIST, {"action": "disable", "_selected_action": [endpoint.pk]}
    )

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.is_active is False


@pytest.mark.parametrize("endpoint_count", [1, 3])
def test_endpoint_list_query_count_does_not_grow_with_endpoints(
    admin_client: Client,
    deliver: Callable[..., Delivery],
    django_assert_num_queries: Callable,
    endpoint_count: int,
) -> None:
    _endpoints_with_deliveries(endpoint_count, deliver)

    with django_assert_num_queries(ENDPOINT_LIST_QUERIES):
        response = admin_client.get(ENDPOINT_LIST)

    assert response.status_code == 200
    assert [e.queued for e in response.context["cl"].result_list] == [1] * endpoint_count
