"""Who reaches what: every route, tried by each role.

Roles: anonymous, signed in without any role, marketer (the Marketer group, not staff) and staff
superuser. Pages, the API docs page and exports send anonymous visitors to the login page and
refuse role-less users with 403; the API answers anonymous requests 401 (token auth challenges
first) and role-less ones 403; the admin sends everyone but staff to its own login page.
"""

import io
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from analytics.models import Delivery, Sender, WebhookEndpoint
from tests.conftest import js_json, payload, post_webhook

PAGE, API, ADMIN = "page", "api", "admin"
ROUTES = [
    ("/dashboard/", PAGE),
    ("/campaigns/", PAGE),
    ("/breakdown/country/", PAGE),
    ("/api/stats/summary/", API),
    ("/api/stats/timeseries/", API),
    ("/api/stats/breakdown/country/", API),
    ("/api/clicks/", API),
    ("/api/campaigns/", API),
    ("/api/schema/", API),
    ("/api/docs/", PAGE),  # a page for people: login_required, then the API's permission
    ("/export/clicks.csv", PAGE),
    ("/export/report.csv?dimension=country", PAGE),
    ("/export/report.zip", PAGE),
    ("/admin/", ADMIN),
    ("/admin/analytics/click/", ADMIN),
]
ROLES = ("anonymous", "no_role", "marketer", "superuser")


def expected(kind: str, role: str) -> int | str:
    """The status code, or "login" / "admin login" for a redirect to that page."""
    if role == "superuser":
        return 200
    if kind == ADMIN:
        return "admin login"  # nobody but staff gets past the admin's login page
    if role == "anonymous":
        return 401 if kind == API else "login"
    if role == "no_role":
        return 403
    return 200


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Users are created with passwords; PBKDF2 would spend most of this module's time on them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_as(db, django_user_model, marketer):
    def make(role: str) -> Client:
        client = Client()
        if role == "no_role":
            client.force_login(django_user_model.objects.create_user("nora", password="pw-nora"))
        elif role == "marketer":
            client.force_login(marketer)
        elif role == "superuser":
            client.force_login(
                django_user_model.objects.create_superuser("root", "root@example.com", "pw-root")
            )
        return client

    return make


def assert_answer(response, want: int | str, url: str) -> None:
    if want == "login":
        assert response.status_code == 302, (url, response.status_code)
        assert response["Location"].startswith("/accounts/login/?next="), response["Location"]
    elif want == "admin login":
        assert response.status_code == 302, (url, response.status_code)
        assert response["Location"].startswith("/admin/login/?next="), response["Location"]
    else:
        assert response.status_code == want, (url, response.status_code)
        if want == 401:
            assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("url", "kind"), ROUTES, ids=[url for url, _ in ROUTES])
def test_route_answers_each_role(client_as, url, kind, role):
    response = client_as(role).get(url)

    assert_answer(response, expected(kind, role), url)
    if response.status_code == 200 and response.streaming:
        b"".join(response.streaming_content)  # the export runs to its end


# --- what a marketer can never see ---------------------------------------------------------

BODY_MARKER = "raw-body-only-marker-7f3a"
HEADER_MARKER = "header-only-marker-91c2"


@pytest.fixture
def deliveries(dub_endpoint, heyoo_endpoint, woodpecker_endpoint, opptima_endpoint) -> list:
    """A click from each sender, delivered with a header and a body field no page should show."""
    endpoints = [dub_endpoint, heyoo_endpoint, woodpecker_endpoint, opptima_endpoint]
    recent = (timezone.now() - timedelta(hours=1)).isoformat()
    bodies = {
        Sender.DUB: payload("dub/link_clicked_real"),
        Sender.HEYOO: payload("heyoo/campaign_clicked"),
        Sender.WOODPECKER: payload("woodpecker/link_clicked"),
        Sender.OPPTIMA: payload("opptima/click"),
    }
    bodies[Sender.DUB]["data"]["click"]["timestamp"] = recent
    bodies[Sender.DUB]["data"]["link"]["title"] = BODY_MARKER  # kept in the raw body only
    bodies[Sender.HEYOO]["data"]["click"]["timestamp"] = recent
    bodies[Sender.HEYOO]["data"]["campaign"]["shareContext"] = BODY_MARKER
    bodies[Sender.WOODPECKER][0]["timestamp"] = recent
    bodies[Sender.WOODPECKER][0]["prospect"]["snippet1"] = BODY_MARKER
    bodies[Sender.OPPTIMA]["subject"] = BODY_MARKER
    sender = Client()
    for endpoint in endpoints:
        response = post_webhook(
            sender, endpoint, js_json(bodies[endpoint.sender]), **{"X-Trace-Note": HEADER_MARKER}
        )
        assert response.status_code == 200, response.content
    assert Delivery.objects.filter(headers__contains={"X-Trace-Note": HEADER_MARKER}).count() == 4
    return endpoints


def _secrets(endpoints: list[WebhookEndpoint]) -> list[str]:
    """What must stay between staff and senders: every secret and every webhook URL token."""
    return [value for e in endpoints for value in (e.secret, e.token) if value]


def _texts(response) -> list[str]:
    """The response as text, with a ZIP's members unpacked."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type") == "application/zip":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return [archive.read(name).decode("utf-8-sig") for name in archive.namelist()]
    return [content.decode("utf-8-sig")]


MARKETER_URLS = [
    *(url for url, kind in ROUTES if kind != ADMIN),
    "/breakdown/referer/",
    "/breakdown/campaign/",
    "/breakdown/sender/",
    "/api/stats/breakdown/sender/",
    "/api/stats/breakdown/referer/",
    "/api/schema/?format=json",
    "/export/report.csv?dimension=sender",
    "/export/report.csv?dimension=summary",
]


def test_no_marketer_page_api_or_export_shows_secrets_tokens_headers_or_raw_bodies(
    client_as, deliveries
):
    marketer = client_as("marketer")
    hidden = [*_secrets(deliveries), BODY_MARKER, HEADER_MARKER]
    assert len(hidden) == 9  # 3 secrets (Woodpecker has none), 4 tokens, 2 markers

    for url in MARKETER_URLS:
        response = marketer.get(url)
        assert response.status_code == 200, url
        for text in _texts(response):
            for value in hidden:
                assert value not in text, f"{value!r} shown to a marketer at {url}"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/analytics/delivery/",
        "/admin/analytics/delivery/{delivery}/change/",
        "/admin/analytics/webhookendpoint/",
        "/admin/analytics/webhookendpoint/{endpoint}/change/",
        "/admin/analytics/click/{click}/change/",
        "/admin/analytics/contact/",
    ],
)
def test_marketers_cannot_reach_raw_deliveries_or_endpoints_in_the_admin(
    client_as, deliveries, url
):
    delivery = Delivery.objects.first()
    url = url.format(
        delivery=delivery.pk, endpoint=deliveries[0].pk, click=delivery.click_set.get().pk
    )
    response = client_as("marketer").get(url)

    assert_answer(response, "admin login", url)
    assert BODY_MARKER not in response.content.decode()


def test_staff_without_permissions_cannot_open_deliveries(client_as, django_user_model, db):
    staff = django_user_model.objects.create_user("sam", password="pw-sam", is_staff=True)
    client = Client()
    client.force_login(staff)

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/analytics/delivery/").status_code == 403
    assert client.get("/admin/analytics/webhookendpoint/").status_code == 403
    # Staff alone is not the Marketer role either.
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/api/clicks/").status_code == 403


def test_the_admin_never_shows_an_endpoints_secret_even_to_a_superuser(client_as, deliveries):
    superuser = client_as("superuser")
    secrets = [e.secret for e in deliveries if e.secret]
    urls = ["/admin/analytics/webhookendpoint/", "/admin/analytics/webhookendpoint/add/"]
    urls += [f"/admin/analytics/webhookendpoint/{e.pk}/change/" for e in deliveries]
    urls += ["/admin/analytics/delivery/"]
    urls += [f"/admin/analytics/delivery/{d.pk}/change/" for d in Delivery.objects.all()]

    for url in urls:
        response = superuser.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in secrets:
            assert secret not in html, f"secret shown at {url}"
    # Deliveries keep their headers with the signature and bearer key masked.
    for delivery in Delivery.objects.all():
        stored = " ".join(f"{k}: {v}" for k, v in delivery.headers.items())
        for secret in secrets:
            assert secret not in stored


def test_a_marketer_token_reads_the_api_and_a_role_less_token_does_not(
    db, django_user_model, marketer
):
    from rest_framework.authtoken.models import Token

    nobody = django_user_model.objects.create_user("nobody", password="pw-nobody")
    for user, status in ((marketer, 200), (nobody, 403)):
        token = Token.objects.create(user=user)
        response = Client().get("/api/clicks/", headers={"Authorization": f"Token {token.key}"})
        assert response.status_code == status, user
    assert Client().get("/api/clicks/", headers={"Authorization": "Token nope"}).status_code == 401
