"""The marketers' dashboard in a real browser: sign in, read the numbers, filter by chart and table.

Runs Debian's chromium through Playwright against pytest-django's live server (the harness is
``tests/browser.py``). Screenshots land in var/screenshots/ (git-ignored).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import Campaign, Sender
from tests.browser import SCREENSHOTS, assert_clean, browser_page, wait_loaded

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


def summary_clicks(page) -> str:
    return page.inner_text("#summary-clicks").strip()


def chart_data(page, canvas_id: str) -> dict:
    return page.evaluate(
        """(id) => {
            const chart = Chart.getChart(document.getElementById(id));
            return {labels: chart.data.labels, data: chart.data.datasets[0].data};
        }""",
        canvas_id,
    )


def table_rows(page, dimension: str) -> list[tuple[str, str]]:
    """(label, clicks) of a breakdown table's rows, as shown."""
    rows = page.eval_on_selector_all(
        f"#table-{dimension} tbody tr.row-filter",
        """rows => rows.map(r => [
            r.querySelector('.cell-button__text').textContent.trim(),
            r.querySelector('td').textContent.trim(),
        ])""",
    )
    return [tuple(row) for row in rows]


def assert_canvas_drawn(page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    assert box["width"] > 0 and box["height"] > 0, f"{selector} has no size: {box}"
    size = page.eval_on_selector(selector, "c => [c.width, c.height]")
    assert size[0] > 0 and size[1] > 0, f"{selector} has an empty bitmap: {size}"


def click_bar(page, canvas_id: str, label: str) -> None:
    """Click the bar of ``label`` where Chart.js drew it."""
    canvas = page.locator(f"#{canvas_id}")
    canvas.scroll_into_view_if_needed()
    point = page.evaluate(
        """([id, label]) => {
            const chart = Chart.getChart(document.getElementById(id));
            const index = chart.data.labels.indexOf(label);
            if (index < 0) return null;
            const {x, y} = chart.getDatasetMeta(0).data[index].getCenterPoint(true);
            return {x, y};
        }""",
        [canvas_id, label],
    )
    assert point is not None, f"no bar labelled {label!r} on #{canvas_id}"
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def test_dashboard_shows_the_numbers_and_filters_by_chart_and_table(browser_page, live_server):
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
    assert_canvas_drawn(page, "#chart-country")
    series = page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-timeseries')).data.datasets[0].data"
    )
    assert len(series) == 7 and sum(series) == 10
    assert chart_data(page, "chart-country") == {
        "labels": ["United States", "Germany", "Colombia"],
        "data": [5, 3, 2],
    }
    assert table_rows(page, "country") == [
        ("United States", "5"),
        ("Germany", "3"),
        ("Colombia", "2"),
    ]
    assert table_rows(page, "device") == [("Mobile", "6"), ("Desktop", "4")]

    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # Clicking the United States bar filters the whole page by it.
    click_bar(page, "chart-country", "United States")
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
    assert chart_data(page, "chart-country")["data"] == [5]
    # The export buttons follow the filters.
    assert "country=US" in page.get_attribute("#export-clicks", "href")
    assert "country=US" in page.get_attribute("#export-report", "href")
    assert table_rows(page, "device") == [("Desktop", "3"), ("Mobile", "2")]

    # A breakdown row works from the keyboard too: focus its button and press Enter.
    page.focus('#table-device tr[data-value="mobile"] button.cell-button')
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/?*device=mobile*")
    wait_loaded(page)
    assert "country=US" in page.url
    device_chip = page.locator('#filter-chips li.chip[data-dimension="device"]')
    assert device_chip.get_attribute("data-value") == "mobile"
    assert summary_clicks(page) == "2"

    # The narrow layout: charts follow the viewport, nothing is wider than the screen.
    page.set_viewport_size({"width": 375, "height": 812})
    page.wait_for_function(
        "() => document.getElementById('chart-timeseries').getBoundingClientRect().width < 375"
    )
    wait_loaded(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert_canvas_drawn(page, "#chart-country")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-mobile.png"), full_page=True)

    assert_clean(problems)
