"""The marketers' dashboard in a real browser: sign in, read the numbers, filter by a breakdown row.

Runs Debian's chromium through Playwright against pytest-django's live server (the harness is
``tests/browser.py``). Screenshots land in var/screenshots/ (git-ignored).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import Campaign, Sender
from tests.browser import (
    SCREENSHOTS,
    assert_clean,
    browser_page,
    summary_clicks,
    table_rows,
    wait_loaded,
)

__all__ = ["browser_page"]  # a fixture, used by name

# The live server answers from another thread, so the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def clicks(make_click):
    """Ten human clicks in the last 7 days (US 5, DE 3, CO 2) and one bot."""
    spring = Campaign.objects.create(sender=Sender.DUB, external_id="spring", name="Spring Sale")
    letter = Campaign.objects.create(sender=Sender.DUB, external_id="news", name="Newsletter")
    now = timezone.now()
    rows = [
        # (country, device, campaign)
        ("US", "desktop", spring),
        ("US", "desktop", spring),
        ("US", "desktop", letter),
        ("US", "mobile", spring),
        ("US", "mobile", letter),
        ("DE", "desktop", spring),
        ("DE", "mobile", letter),
        ("DE", "mobile", letter),
        ("CO", "mobile", spring),
        ("CO", "mobile", letter),
    ]
    for n, (country, device, campaign) in enumerate(rows, start=1):
        # Every 11 hours over the last five days: all in the past and within "7d".
        when = now - timedelta(hours=11 * n)
        make_click(when, country=country, device=device, campaign=campaign)
    make_click(now - timedelta(hours=2), country="US", device="desktop", is_bot=True)


def assert_canvas_drawn(page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    assert box["width"] > 0 and box["height"] > 0, f"{selector} has no size: {box}"
    size = page.eval_on_selector(selector, "c => [c.width, c.height]")
    assert size[0] > 0 and size[1] > 0, f"{selector} has an empty bitmap: {size}"


def test_dashboard_shows_the_numbers_and_filters_by_breakdown_rows(browser_page, live_server):
    page, problems = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # Sign in through the real login page; it sends the marketer on to the dashboard.
    page.goto(f"{live_server.url}/accounts/login/?next=/dashboard/%3Frange%3D7d")
    page.fill("#id_username", "mia")
    page.fill("#id_password", "a-long-passphrase")
    page.click("form.auth-form button[type=submit]")
    page.wait_for_url("**/dashboard/?range=7d")
    wait_loaded(page)

    assert summary_clicks(page) == "10"  # the bot is left out
    assert page.inner_text("#summary-bots").strip() == "1"
    assert page.locator("#empty-state").is_hidden()
    assert page.locator("#filter-chips li.chip").count() == 0

    assert_canvas_drawn(page, "#chart-timeseries")
    series = page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-timeseries')).data.datasets[0].data"
    )
    assert len(series) == 7 and sum(series) == 10
    assert table_rows(page, "country") == [
        ("United States", "5"),
        ("Germany", "3"),
        ("Colombia", "2"),
    ]
    assert table_rows(page, "device") == [("Mobile", "6"), ("Desktop", "4")]

    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # Clicking the United States row filters the whole page by it.
    page.click('#list-country .bar-list__row[data-value="US"]')
    page.wait_for_url("**/dashboard/?*country=US*")
    wait_loaded(page)
    chip = page.locator('#filter-chips li.chip[data-dimension="country"]')
    assert chip.count() == 1
    assert chip.get_attribute("data-op") == "is"
    assert chip.get_attribute("data-value") == "US"
    assert " ".join(chip.locator(".chip__text").inner_text().split()) == (
        "Country is United States"
    )
    assert summary_clicks(page) == "5"
    assert table_rows(page, "country") == [("United States", "5")]
    # The export buttons follow the filters.
    assert "country=US" in page.get_attribute("#export-clicks", "href")
    assert "country=US" in page.get_attribute("#export-report", "href")
    assert table_rows(page, "device") == [("Desktop", "3"), ("Mobile", "2")]

    # A breakdown row works from the keyboard too: focus its button and press Enter.
    page.locator("#tab-device").click()  # Devices: device, browser and OS as tabs
    page.focus('#list-device .bar-list__row[data-value="mobile"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/?*device=mobile*")
    wait_loaded(page)
    assert "country=US" in page.url
    device_chip = page.locator('#filter-chips li.chip[data-dimension="device"]')
    assert device_chip.get_attribute("data-value") == "mobile"
    assert summary_clicks(page) == "2"

    # The narrow layout: the chart and lists follow the viewport, nothing is wider than it.
    page.set_viewport_size({"width": 375, "height": 812})
    page.wait_for_function(
        "() => document.getElementById('chart-timeseries').getBoundingClientRect().width < 375"
    )
    wait_loaded(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert page.locator('#list-country .bar-list__row[data-value="US"]').is_visible()
    page.screenshot(path=str(SCREENSHOTS / "dashboard-mobile.png"), full_page=True)

    assert_clean(problems)
