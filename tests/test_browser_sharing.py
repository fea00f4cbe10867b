"""Shared links in a real browser: the read-only dashboard at /s/<token>/ for visitors without an
account. It shows the saved view's numbers only, calls nothing outside its link, offers no way
to change or drop the view's filters (no add-filter, chips to remove, exports, "See all" or links
into the app), yet the period, the bots rule and the arrows work and keep the address under the
link. A password-protected link asks for its password first; a revoked one is gone (410).

Uses the shared harness (tests/browser.py): Debian's chromium through Playwright against the live
server, every test ending clean (no console error, no CSP violation).
"""

import re
from contextlib import ExitStack
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from analytics.models import Campaign, SavedView, Sender, SharedLink
from tests.browser import (
    DESKTOP,
    MOBILE,
    assert_clean,
    open_page,
    query,
    screenshot,
    summary_clicks,
    table_rows,
    wait_loaded,
)

# The live server answers from another thread, so the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

VISITOR_PARAMS = {"range", "from", "to", "tz", "bots", "bucket"}


@pytest.fixture
def link(make_click, django_user_model) -> SharedLink:
    """ "ACME monthly review": a link to a saved view of the last 30 days of ACME spring.

    ACME spring: 6 human clicks in the last two days (US 4, DE 2), one bot, and 3 clicks 9, 16 and
    20 days ago (FR): 9 in 30 days, 6 in 7. Globex winter, which the link must never show: 5.
    """
    owner = django_user_model.objects.create_user("olga", "olga@example.com", "a-long-passphrase")
    acme = Campaign.objects.create(sender=Sender.DUB, external_id="acme", name="ACME spring")
    globex = Campaign.objects.create(sender=Sender.DUB, external_id="glx", name="Globex winter")
    now = timezone.now()
    recent = [("US", "desktop")] * 3 + [("US", "mobile")] + [("DE", "mobile")] * 2
    for n, (country, device) in enumerate(recent, start=1):
        make_click(now - timedelta(hours=5 * n), country=country, device=device, campaign=acme)
    make_click(now - timedelta(hours=3), country="US", campaign=acme, is_bot=True)
    for days in (9, 16, 20):
        make_click(now - timedelta(days=days), country="FR", device="desktop", campaign=acme)
    for n in range(5):
        make_click(now - timedelta(hours=4 * n + 1), country="JP", campaign=globex)
    view = SavedView(
        name="ACME", owner=owner, query=f"range=30d&tz=UTC&campaign={acme.canonical_id}"
    )
    view.save()
    return SharedLink.objects.create(label="ACME monthly review", saved_view=view)


@pytest.fixture
def visitor(live_server, monkeypatch):
    """open(viewport) -> (page, problems, requests): a browser that never signed in; requests
    collects the URL of every request the page makes."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with ExitStack() as stack:

        def opened(viewport: dict[str, int] = DESKTOP) -> tuple:
            page, problems = stack.enter_context(open_page(viewport))
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            return page, problems, requests

        yield opened


def drop_page_status(problems, status: int, url: str) -> None:
    """Forget Chromium's console line for a document answered ``status`` on purpose."""
    problems[:] = [p for p in problems if not (f"status of {status}" in p and f"({url}" in p)]


def test_shared_link_shows_the_saved_views_numbers_to_an_anonymous_visitor(
    visitor, live_server, link
):
    page, problems, requests = visitor()
    base = f"/s/{link.token}/"
    response = page.goto(f"{live_server.url}{base}")
    assert response.status == 200
    wait_loaded(page)

    assert page.title() == "ACME monthly review · clicktrack"
    assert page.inner_text("h1.page-title").strip() == "ACME monthly review"
    assert "read-only" in page.inner_text(".page-head").lower()
    # The saved view's numbers: ACME's 9 human clicks of the last 30 days, Globex's left out.
    assert summary_clicks(page) == "9"
    assert page.inner_text("#summary-bots").strip() == "1"
    assert table_rows(page, "country") == [
        ("United States", "4"),
        ("France", "3"),
        ("Germany", "2"),
    ]
    assert [label for label, _ in table_rows(page, "campaign")] == ["ACME spring (Dub)"]
    # The view's filters are shown, fixed: chips without a remove button.
    assert "Showing only:" in page.inner_text(".filter-bar__filters--locked")
    locked = page.locator("#locked-filters li.chip--locked").all_inner_texts()
    assert len(locked) == 1 and locked[0].startswith("Campaign is ACME spring"), locked
    assert page.locator(".chip__remove").count() == 0
    # The address names the whole period, under the link.
    assert urlsplit(page.url).path == base
    assert query(page)["range"] == ["30d"]
    assert set(query(page)) <= VISITOR_PARAMS

    # Nothing to change or leave the view with: no filters to add or clear, no exports, no
    # "See all" pages, no navigation into the app, no link to /dashboard/ anywhere.
    for selector in (
        "#add-filter",
        "#add-filter-form",
        "#clear-filters",
        "#filter-chips",
        "#export-clicks",
        "#export-report",
        "a[data-export]",
        ".panel__more",
        "#reset-filters",
        ".app-nav",
        ".app-user",
        "header a.brand",
        'a[href*="/dashboard/"]',
        'a[href*="/breakdown/"]',
        'a[href*="/export/"]',
        'form[action*="/dashboard/"]',
    ):
        assert page.locator(selector).count() == 0, selector
    assert page.get_attribute("#filter-form", "action") == base
    assert page.locator("header .brand").count() == 1
    # Every tab: rows are text, not buttons; the link and URL breakdowns are not offered.
    assert page.locator("#tab-link, #tab-url, #list-link, #list-url").count() == 0
    for tab in page.locator(".tabs__tab").all():
        tab.click()
        key = tab.get_attribute("data-tab")
        page.wait_for_selector(f'#list-{key}[aria-busy="false"]', state="attached")
    assert page.locator(".bar-list button, .bar-list__row:not(.bar-list__row--static)").count() == 0
    assert page.locator(".bar-list__row--static").count() > 0
    screenshot(page, "share-dashboard.png")
    # The other campaign's name is nowhere on the page, its markup and data included.
    assert "Globex" not in page.content()

    # Every request stayed within the link and the static files.
    paths = [urlsplit(url) for url in requests]
    assert paths, "no request recorded"
    outside = [
        url.geturl()
        for url in paths
        if url.netloc != urlsplit(live_server.url).netloc
        or not url.path.startswith((base, "/static/"))
    ]
    assert outside == []
    assert any(url.path.startswith(f"{base}api/") for url in paths)

    # The link's API refuses anything that would widen the view, and the URL breakdowns.
    globex = Campaign.objects.get(external_id="glx").canonical_id
    api = page.request
    answer = api.get(f"{live_server.url}{base}api/summary/?campaign={globex}")
    assert answer.status == 400 and "fixed" in answer.json()["detail"]
    assert api.get(f"{live_server.url}{base}api/breakdown/url/").status == 404
    assert api.get(f"{live_server.url}{base}api/breakdown/link/").status == 404
    assert api.get(f"{live_server.url}{base}api/summary/?range=7d").json()["current"]["clicks"] == 6

    assert_clean(problems)


def test_shared_rows_and_map_do_not_filter_but_the_period_changes(visitor, live_server, link):
    page, problems, requests = visitor()
    base = f"/s/{link.token}/"
    page.goto(f"{live_server.url}{base}")
    wait_loaded(page)
    before = page.url

    # A breakdown row is text: clicking it changes nothing.
    page.click('#list-country .bar-list__row[data-value="US"]')
    page.click('#list-device .bar-list__row[data-value="mobile"]')
    page.wait_for_timeout(300)
    assert page.url == before
    assert page.get_attribute("body", "data-loaded") == "true"
    assert summary_clicks(page) == "9"

    # The map still tells a country's numbers on focus and hover; choosing one filters nothing.
    page.locator("#panel-map").scroll_into_view_if_needed()
    page.focus('#map-canvas path[data-country="US"]')
    assert page.inner_text("#map-tip").startswith("United States: 4 clicks")
    germany = page.locator('#map-canvas path[data-country="DE"]')
    germany.hover()
    assert page.inner_text("#map-tip").startswith("Germany: 2 clicks")
    assert germany.get_attribute("role") != "button"
    germany.click()
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert page.url == before
    assert "map__country--chosen" not in germany.get_attribute("class")

    # The period is the visitor's: Last 7 days reloads the numbers under the link.
    page.select_option("#range-select", "7d")
    page.wait_for_url(re.compile(rf"{re.escape(base)}\?range=7d"))
    wait_loaded(page)
    assert urlsplit(page.url).path == base
    assert set(query(page)) <= VISITOR_PARAMS
    assert summary_clicks(page) == "6"
    assert table_rows(page, "country") == [("United States", "4"), ("Germany", "2")]

    # So is the bots rule.
    page.check("#bots-toggle")
    page.wait_for_url(re.compile(r"bots=include"))
    wait_loaded(page)
    assert summary_clicks(page) == "7"
    page.uncheck("#bots-toggle")
    page.wait_for_url(re.compile(r"bots=exclude"))
    wait_loaded(page)
    assert summary_clicks(page) == "6"

    # The arrows: the 7 days before, with ACME's click of 9 days ago.
    page.wait_for_selector("#range-prev:not([disabled])")
    page.click("#range-prev")
    page.wait_for_url(re.compile(r"range=custom"))
    wait_loaded(page)
    assert urlsplit(page.url).path == base
    assert summary_clicks(page) == "1"

    # Back goes to the 7 days, then to the view as first shown.
    page.go_back()
    page.wait_for_url(re.compile(r"range=7d&.*bots=exclude"))
    wait_loaded(page)
    assert summary_clicks(page) == "6"
    page.go_back()
    page.go_back()
    page.go_back()
    page.wait_for_url(re.compile(r"range=30d"))
    wait_loaded(page)
    assert summary_clicks(page) == "9"

    assert all(urlsplit(url).path.startswith((base, "/static/")) for url in requests), requests
    assert_clean(problems)


def test_the_visitors_bots_rule_and_buckets_override_the_saved_views(visitor, live_server, link):
    """A view saved with bots included and hourly points: the visitor can still leave the bots
    out, and a longer period than hours allow gets its own bucket instead of a refusal."""
    view = link.saved_view
    view.query = view.query.replace("range=30d", "range=7d") + "&bots=include&bucket=hour"
    view.save()
    page, problems, _ = visitor()
    base = f"/s/{link.token}/"
    page.goto(f"{live_server.url}{base}")
    wait_loaded(page)
    assert summary_clicks(page) == "7"  # the bot counted, as the view says
    assert page.is_checked("#bots-toggle")
    assert page.get_attribute('#bucket-switch [data-bucket="hour"]', "aria-pressed") == "true"

    page.uncheck("#bots-toggle")
    page.wait_for_url(re.compile(r"bots=exclude"))
    wait_loaded(page)
    assert summary_clicks(page) == "6"

    page.select_option("#range-select", "90d")  # too long for hours
    page.wait_for_url(re.compile(r"range=90d"))
    wait_loaded(page)
    assert page.locator("#load-error").is_hidden()
    assert summary_clicks(page) == "9"
    assert page.get_attribute('#bucket-switch [data-bucket="hour"]', "aria-pressed") == "false"

    page.click('#bucket-switch [data-bucket="week"]')
    page.wait_for_url(re.compile(r"bucket=week"))
    wait_loaded(page)
    assert page.get_attribute('#bucket-switch [data-bucket="week"]', "aria-pressed") == "true"
    assert urlsplit(page.url).path == base
    assert_clean(problems)


def test_shared_dashboard_fits_a_phone(visitor, live_server, link):
    page, problems, _ = visitor(MOBILE)
    page.goto(f"{live_server.url}/s/{link.token}/")
    wait_loaded(page)

    assert summary_clicks(page) == "9"
    assert page.locator("#locked-filters li.chip--locked").is_visible()
    assert page.locator("#range-select").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= MOBILE["width"]
    screenshot(page, "share-dashboard-mobile.png")
    assert_clean(problems)


def test_a_bad_period_is_explained_and_the_view_shown(visitor, live_server, link):
    page, problems, _ = visitor()
    url = f"{live_server.url}/s/{link.token}/?range=forever"
    response = page.goto(url)
    assert response.status == 400
    wait_loaded(page)

    assert "range must be one of" in page.inner_text(".share-error")
    assert summary_clicks(page) == "9"
    # The address now says what is shown.
    assert query(page)["range"] == ["30d"]
    drop_page_status(problems, 400, url)
    assert_clean(problems)


def test_a_link_without_a_saved_view_shows_every_campaign(visitor, live_server, link):
    everything = SharedLink.objects.create(label="Board")
    page, problems, _ = visitor()
    page.goto(f"{live_server.url}/s/{everything.token}/")
    wait_loaded(page)

    assert summary_clicks(page) == "14"  # both campaigns, the last 30 days
    assert page.locator("#locked-filters").count() == 0
    assert "Showing all campaigns" in page.inner_text(".filter-bar__filters--locked")
    assert_clean(problems)


# Also proves the form posts with a real Origin: under "Referrer-Policy: no-referrer" Chromium
# sends "Origin: null" and Django's CSRF check refuses every attempt.
def test_a_password_protected_link_asks_for_its_password(visitor, live_server, link):
    link.set_password("s3cret")
    link.save()
    page, problems, _ = visitor()
    url = f"{live_server.url}/s/{link.token}/"
    response = page.goto(url)
    assert response.status == 200
    assert page.locator("#share-password").is_visible()
    assert page.locator("#dashboard-config").count() == 0  # nothing of the dashboard yet
    assert "ACME monthly review" in page.inner_text("h1")

    # A wrong password is refused with a message.
    page.fill("#share-password", "guess")
    with page.expect_navigation() as navigation:
        page.click("form.auth-form button[type=submit]")
    assert navigation.value.status == 403
    assert page.locator("#share-password").count() == 1, page.inner_text("body")[:300]
    assert page.inner_text("[role=alert]").strip() == "That password is not right."
    assert page.locator("#dashboard-config").count() == 0
    drop_page_status(problems, 403, url)

    # The right one opens the dashboard, and its API answers.
    page.fill("#share-password", "s3cret")
    with page.expect_navigation():
        page.click("form.auth-form button[type=submit]")
    page.wait_for_url(re.compile(rf"{re.escape(url)}(\?.*)?$"))
    wait_loaded(page)
    assert summary_clicks(page) == "9"
    assert page.inner_text("h1.page-title").strip() == "ACME monthly review"
    assert_clean(problems)


def test_a_revoked_link_is_gone(visitor, live_server, link):
    link.revoke()
    page, problems, _ = visitor()
    url = f"{live_server.url}/s/{link.token}/"
    response = page.goto(url)

    assert response.status == 410
    assert page.inner_text("h1").strip() == "This dashboard is not available"
    assert "revoked" in page.inner_text("main")
    assert page.locator("#dashboard-config").count() == 0
    assert page.request.get(f"{url}api/summary/").status == 410
    drop_page_status(problems, 410, url)
    assert_clean(problems)
