"""Every page in a real browser, as a superuser: no console error, no uncaught exception, no
Content Security Policy violation, at desktop and mobile widths. Also the parts of the surface
that only a browser can check: Swagger UI drawn under the CSP, the country map, the live view.

Runs Debian's chromium through Playwright (the harness is ``tests/browser.py``).
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from analytics import campaigns as campaign_writes
from analytics import live_views
from analytics.filters import DIMENSIONS
from analytics.models import (
    Campaign,
    CampaignRule,
    CanonicalCampaign,
    Contact,
    Delivery,
    Link,
    Sender,
    WebhookEndpoint,
)
from tests.browser import (
    DESKTOP,
    MOBILE,
    assert_clean,
    open_page,
    screenshot,
    sign_in,
    sync_api,
    wait_loaded,
)
from tests.conftest import js_json, payload, post_webhook

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_PASSWORD = "an-admin-passphrase"
VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(MOBILE, id="mobile")]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("ada", "ada@example.com", ADMIN_PASSWORD)


@pytest.fixture
def site_data(make_click, superuser):
    """One row of every model the admin shows, and clicks for the dashboards to draw."""
    spring = Campaign.objects.create(
        sender=Sender.DUB, external_id="spring", name="Spring Sale", utm_campaign="spring"
    )
    link = Link.objects.create(
        sender=Sender.DUB, external_id="l1", short_link="https://dub.sh/s", domain="dub.sh"
    )
    contact = Contact.objects.create(sender=Sender.DUB, email="pat@example.com")
    now = timezone.now()
    for n, country in enumerate(["US", "US", "DE", "CO", "FR"], start=1):
        make_click(now - timedelta(hours=5 * n), country=country, campaign=spring, link=link)
    make_click(now - timedelta(minutes=3), country="DE", device="mobile", recipient=contact)
    make_click(now - timedelta(hours=2), country="US", is_bot=True)
    rule = CampaignRule(
        canonical=CanonicalCampaign.objects.create(name="Spring"),
        field=CampaignRule.Field.NAME,
        match=CampaignRule.Match.PREFIX,
        pattern="spring",
    )
    campaign_writes.save(rule)
    Delivery.objects.create(
        endpoint=WebhookEndpoint.objects.first(),
        body=b'{"event": "link.clicked"}',
        headers={"content-type": "application/json"},
        status=Delivery.Status.FAILED,
        error="missing click id",
    )
    Token.objects.create(user=superuser)
    AccessAttempt.objects.create(
        username="someone", ip_address="127.0.0.1", user_agent="test", failures_since_start=1
    )
    return {"rule": rule}


def sign_in_as_admin(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/dashboard/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("form.auth-form button[type=submit]")
    page.wait_for_url("**/dashboard/")


def admin_pages() -> list[str]:
    """Each registered model's changelist and the change form of its first row."""
    pages = ["/admin/"]
    for model in admin.site._registry:
        meta = model._meta
        pages.append(f"/admin/{meta.app_label}/{meta.model_name}/")
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(f"/admin/{meta.app_label}/{meta.model_name}/{first.pk}/change/")
    return pages


def visit(page, url: str, wrong: list[str], expected_status: int = 200) -> None:
    """Open url; a status other than expected_status is recorded in wrong."""
    response = page.goto(url)
    page.wait_for_load_state("load")
    status = response.status if response else None
    if status != expected_status:
        wrong.append(f"{url}: {status}")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_page_is_clean_in_the_browser(live_server, monkeypatch, site_data, viewport):
    base = live_server.url
    pages = [
        "/dashboard/?range=7d",
        "/dashboard/?range=7d&country=US",
        "/campaigns/",
        "/campaigns/unify/",
        "/campaigns/unify/rules/new/",
        f"/campaigns/unify/rules/{site_data['rule'].pk}/",
        *(f"/breakdown/{key}/?range=7d" for key in DIMENSIONS),
        "/intake/",
        "/live/",
        "/api/stats/summary/",
        "/api/stats/timeseries/",
        "/api/stats/breakdown/country/",
        "/api/clicks/",
        "/api/campaigns/",
        "/favicon.ico",
        *admin_pages(),
    ]
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    wrong: list[str] = []
    with open_page(viewport) as (page, problems):
        visit(page, f"{base}/accounts/login/", wrong)
        sign_in_as_admin(page, base)
        wait_loaded(page)
        for path in pages:
            visit(page, base + path, wrong)
            if path.startswith("/dashboard/"):
                wait_loaded(page)
        visit(page, f"{base}/no-such-page/", wrong, expected_status=404)
        # Chromium logs the 404 of the page itself; that one is expected.
        problems.remove(
            "console: Failed to load resource: the server responded with a status of 404 "
            f"(Not Found) ({base}/no-such-page/)"
        )

        # Swagger UI draws every operation of the schema.
        visit(page, f"{base}/api/docs/", wrong)
        try:
            page.wait_for_selector(".opblock-summary-path", timeout=8_000)
        except sync_api.TimeoutError:
            wrong.append("/api/docs/ shows no operation")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        screenshot(page, f"api-docs-{viewport['width']}.png")
        if paths:  # "Try it out" on the live endpoint calls the API with the session
            page.click('.opblock-summary-path[data-path="/api/stats/live/"]')
            page.click(".try-out__btn")
            page.click(".execute")
            status = page.locator(".live-responses-table .response .response-col_status")
            assert status.first.inner_text().strip() == "200"

        # The admin's own sign-in page, signed out.
        page.context.clear_cookies()
        visit(page, f"{base}/admin/login/", wrong)
        assert wrong == []
        assert "/api/stats/summary/" in paths
        assert len(paths) >= 6
        assert_clean(problems)


def post_click_now(endpoint, country: str) -> None:
    """A Dub click made a second ago, through the webhook and the processing worker."""
    body = payload("dub/link_clicked")
    stamp = timezone.now().isoformat().replace("+00:00", "Z")
    body["createdAt"] = body["data"]["click"]["timestamp"] = stamp
    body["data"]["click"]["id"] = f"live-{country}"
    body["data"]["click"]["country"] = country
    body["data"]["link"]["key"] = "spring"
    response = post_webhook(Client(), endpoint, js_json(body))
    assert response.status_code == 200


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_live_view_refreshes_and_shows_a_click_posted_meanwhile(
    live_server, monkeypatch, marketer, make_click, dub_endpoint, viewport
):
    monkeypatch.setattr(live_views, "REFRESH_MS", 300)
    make_click(timezone.now() - timedelta(minutes=12), country="DE", device="mobile")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with open_page(viewport) as (page, problems):
        sign_in(page, live_server.url, "/live/")
        page.wait_for_selector('body[data-loaded="true"]', state="attached")
        assert page.inner_text("#live-total") == "1"
        assert page.locator("#live-minutes rect").count() == 30
        assert page.locator("#live-countries li").all_inner_texts() == ["Germany\n1"]

        post_click_now(dub_endpoint, "JP")

        page.wait_for_function("() => document.getElementById('live-total').textContent === '2'")
        latest = page.locator("#live-latest tr").first
        assert latest.locator("td").nth(1).inner_text() == "Japan"
        assert page.locator("#live-minutes rect").last.get_attribute("data-clicks") == "1"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"live-{viewport['width']}.png")

        # A hidden tab stops asking; shown again, it refreshes at once.
        page.evaluate(
            """() => {
                Object.defineProperty(document, "hidden", {value: true, configurable: true});
                document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
        assert page.get_attribute("#live-status", "data-state") == "paused"
        paused_at = page.get_attribute("body", "data-refreshes")
        page.wait_for_timeout(1200)  # four refresh periods
        assert page.get_attribute("body", "data-refreshes") == paused_at
        page.evaluate(
            """() => {
                Object.defineProperty(document, "hidden", {value: false, configurable: true});
                document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
        page.wait_for_function(
            "(n) => Number(document.body.dataset.refreshes) > n", arg=int(paused_at)
        )
        assert page.get_attribute("#live-status", "data-state") == "live"
        assert_clean(problems)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_country_map_shades_countries_and_filters_by_one(
    live_server, monkeypatch, marketer, make_click, viewport
):
    now = timezone.now()
    for n, country in enumerate(["US"] * 4 + ["DE", "BR", "", "SG"]):
        make_click(now - timedelta(hours=3 * n + 1), country=country)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with open_page(viewport) as (page, problems):
        sign_in(page, live_server.url, "/dashboard/%3Frange%3D7d")
        wait_loaded(page)
        us = page.locator('#map-canvas path[data-country="US"]')
        assert us.get_attribute("data-clicks") == "4"
        assert "map__country--5" in us.get_attribute("class")
        assert "map__country--3" in page.get_attribute('path[data-country="DE"]', "class")
        assert "map__country--0" in page.get_attribute('path[data-country="FR"]', "class")
        assert page.locator("#map-canvas path[tabindex]").count() == 3  # US, DE, BR
        # Shades follow the square root of clicks over the leader's: 1 click is level 3 of 5.
        legend = [text.strip() for text in page.locator("#map-legend li").all_inner_texts()]
        assert legend == ["1", "2", "3\u20134"]  # an en dash between the bounds
        # Singapore is too small for a 1:110m map, and an unknown country has no place on it.
        assert page.inner_text("#map-note").startswith("2 clicks are not on the map")
        box = page.locator("#map-canvas svg").bounding_box()
        assert 0 < box["width"] <= viewport["width"]
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]

        page.locator("#panel-map").scroll_into_view_if_needed()
        screenshot(page, f"map-{viewport['width']}.png")
        # Focus shows the numbers, as hovering does.
        page.focus('path[data-country="DE"]')
        assert page.inner_text("#map-tip") == "Germany: 1 clicks (12.5%)"
        us.hover()
        assert page.inner_text("#map-tip").startswith("United States: 4 clicks")

        us.click()
        page.wait_for_url("**/dashboard/?*country=US*")
        wait_loaded(page)
        assert page.inner_text("#summary-clicks").strip() == "4"
        assert "map__country--chosen" in us.get_attribute("class")
        chip = page.locator('#filter-chips li.chip[data-dimension="country"]')
        assert chip.get_attribute("data-value") == "US"

        # From the keyboard: Enter on a focused country adds it to the filter.
        page.goto(f"{live_server.url}/dashboard/?range=7d")
        wait_loaded(page)
        page.focus('path[data-country="BR"]')
        page.keyboard.press("Enter")
        page.wait_for_url("**/dashboard/?*country=BR*")
        wait_loaded(page)
        assert page.inner_text("#summary-clicks").strip() == "1"
        assert_clean(problems)
