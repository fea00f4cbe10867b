"""The campaigns page and the "See all" breakdown pages in a real browser, desktop and mobile.

Both pages carry the dashboard's range, time zone and bots controls and its filter chips (a GET
form: changing a control reloads the page with the other parameters kept), read in full on a
phone, and show shares with one decimal place like the dashboard.
"""

from contextlib import ExitStack
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.utils import timezone

from analytics.models import Campaign, Sender
from tests.browser import DESKTOP, MOBILE, assert_clean, open_page, screenshot, sign_in

# The live server answers from another thread, so the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

LONG_NAME = "Spring Sale 2026 - Early Bird Newsletter for Returning Customers in Latin America"


@pytest.fixture(autouse=True)
def clicks(make_click):
    """Within 7 days: US 3, DE 2, CO 1 (a third of them on a long-named campaign); 20 days
    ago 4 more (US); one bot click today."""
    spring = Campaign.objects.create(sender=Sender.DUB, external_id="spring", name=LONG_NAME)
    letter = Campaign.objects.create(sender=Sender.DUB, external_id="news", name="Newsletter")
    now = timezone.now()
    recent = [("US", spring), ("US", letter), ("US", letter), ("DE", spring)]
    recent += [("DE", letter), ("CO", letter)]
    for n, (country, campaign) in enumerate(recent, start=1):
        make_click(now - timedelta(hours=11 * n), country=country, campaign=campaign)
    for n in range(4):
        make_click(now - timedelta(days=20, hours=n), country="US", campaign=letter)
    make_click(now - timedelta(hours=2), country="US", campaign=letter, is_bot=True)


@pytest.fixture
def browser(live_server, marketer, monkeypatch):
    """A function (viewport, path) -> (page, problems), signed in as the marketer (mia)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with ExitStack() as stack:

        def opened(viewport: dict[str, int], path: str) -> tuple:
            page, problems = stack.enter_context(open_page(viewport))
            sign_in(page, live_server.url, quote(path, safe="/"))
            return page, problems

        yield opened


def campaign_clicks(page) -> dict[str, str]:
    """Campaign name -> clicks, as the campaigns table shows them."""
    rows = page.eval_on_selector_all(
        "#campaign-table tbody tr",
        """rows => rows.map(r => [
            r.querySelector('.row-link__anchor').textContent.trim(),
            r.querySelector('td.num').textContent.trim(),
        ])""",
    )
    return dict(rows)


def breakdown_rows(page) -> dict[str, tuple[str, str]]:
    """Label -> (clicks, share) of the See all table."""
    rows = page.eval_on_selector_all(
        "#breakdown-table tbody tr",
        """rows => rows.map(r => [
            r.querySelector('.col-label').textContent.trim(),
            r.querySelectorAll('td.num')[1].textContent.trim(),
            r.querySelectorAll('td.num')[3].textContent.trim(),
        ])""",
    )
    return {label: (clicks, share) for label, clicks, share in rows}


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def no_horizontal_scroll(page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def test_campaigns_page_range_and_bots_controls_change_the_numbers(browser):
    page, problems = browser(DESKTOP, "/campaigns/?range=30d")
    assert campaign_clicks(page) == {LONG_NAME: "2", "Newsletter": "8"}

    with page.expect_navigation():
        page.select_option("#range-select", "7d")
    assert "range=7d" in page.url
    assert campaign_clicks(page) == {LONG_NAME: "2", "Newsletter": "4"}
    assert page.input_value("#range-select") == "7d"

    with page.expect_navigation():
        page.check("#bots-toggle")
    assert "bots=include" in page.url and "range=7d" in page.url
    assert campaign_clicks(page)["Newsletter"] == "5"

    with page.expect_navigation():
        page.select_option("#tz-select", "Asia/Kolkata")
    assert query(page) == {"range": ["7d"], "tz": ["Asia/Kolkata"], "bots": ["include"]}
    assert page.input_value("#tz-select") == "Asia/Kolkata"
    screenshot(page, "campaigns-desktop.png")
    assert_clean(problems)


def test_campaigns_page_custom_range_shows_its_dates(browser):
    page, problems = browser(DESKTOP, "/campaigns/?range=7d")
    page.select_option("#range-select", "custom")
    assert page.is_visible("#date-from") and page.is_visible("#date-to")
    today = timezone.localdate()
    # The fields start from the period on screen (the last 7 days): an end before it is refused.
    page.fill("#date-to", (today - timedelta(days=15)).isoformat())
    assert page.inner_text("#date-error") == "The end date must be on or after the start date."
    with page.expect_navigation():
        page.fill("#date-from", (today - timedelta(days=25)).isoformat())
    assert "range=custom" in page.url
    assert campaign_clicks(page) == {LONG_NAME: "0", "Newsletter": "4"}
    assert_clean(problems)


def test_see_all_page_controls_keep_the_filters_and_chips_remove_them(browser):
    page, problems = browser(DESKTOP, "/breakdown/campaign/?range=30d&country=US")
    chips = page.locator("#filter-chips .chip")
    assert chips.count() == 1
    assert "Country is United States" in " ".join(chips.first.inner_text().split())
    assert breakdown_rows(page)["Newsletter (Dub)"][0] == "6"

    with page.expect_navigation():
        page.select_option("#range-select", "7d")
    assert "country=US" in page.url and "range=7d" in page.url
    assert breakdown_rows(page)["Newsletter (Dub)"][0] == "2"
    assert page.locator("#filter-chips .chip").count() == 1

    with page.expect_navigation():
        page.click("#filter-chips .chip__remove")
    assert "country=" not in page.url and "range=7d" in page.url
    assert breakdown_rows(page)["Newsletter (Dub)"][0] == "4"
    assert page.locator("#filter-chips .chip").count() == 0
    assert_clean(problems)


def test_see_all_shares_have_one_decimal_like_the_dashboard(browser):
    page, problems = browser(DESKTOP, "/breakdown/country/?range=7d")
    rows = breakdown_rows(page)
    # 3, 2 and 1 of 6 clicks.
    assert rows["United States"] == ("3", "50%")
    assert rows["Germany"] == ("2", "33.3%")
    assert rows["Colombia"] == ("1", "16.7%")
    assert_clean(problems)


@pytest.mark.parametrize("path", ["/campaigns/?range=30d", "/breakdown/country/?range=30d"])
def test_pages_controls_fit_a_phone_without_sideways_scroll(browser, path):
    page, problems = browser(MOBILE, path)
    for control in ("#range-select", "#tz-select", "#bots-toggle"):
        box = page.locator(control).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= MOBILE["width"]
    no_horizontal_scroll(page)
    screenshot(page, f"{urlsplit(path).path.strip('/').replace('/', '-')}-mobile.png")
    assert_clean(problems)


def test_campaigns_page_on_a_phone_shows_whole_names_and_last_click(browser):
    page, problems = browser(MOBILE, "/campaigns/?range=30d")
    no_horizontal_scroll(page)
    name = page.locator(".row-link__anchor", has_text="Spring Sale")
    assert name.is_visible()
    # The whole name is on screen: wrapped, not cut by an ellipsis or the card's edge.
    clipped = name.evaluate("a => a.scrollWidth > a.clientWidth + 1")
    assert not clipped
    box = name.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= MOBILE["width"]
    last = page.locator("tr.row-link", has_text="Spring Sale").locator(".row-link__sub")
    assert last.is_visible()
    assert "last click" in last.inner_text()
    assert not last.evaluate("s => s.scrollWidth > s.clientWidth + 1")
    last_box = last.bounding_box()
    assert last_box["x"] + last_box["width"] <= MOBILE["width"]
    screenshot(page, "campaigns-mobile.png")
    assert_clean(problems)
