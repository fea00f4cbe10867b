"""The marketers' dashboard in a real browser: sign in, read the numbers, filter by chart and table.

Runs Debian's chromium through Playwright against pytest-django's live server. Skipped when
chromium or playwright is missing (CI installs chromium first). Screenshots land in
var/screenshots/ (git-ignored).
"""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from analytics.models import Campaign, Sender

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("chromium is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
TIMEOUT_MS = 15_000

# The live server answers from another thread, so the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
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


@pytest.fixture
def browser_page(live_server, marketer, clicks, monkeypatch):
    """(page, errors): a signed-out chromium page at 1280x900 and its console errors so far.

    The user and the clicks exist before Playwright starts: its event loop makes Django refuse
    ORM calls from this thread. DJANGO_ALLOW_ASYNC_UNSAFE, set only while the browser runs,
    lets any later ORM call in the test through.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            errors: list[str] = []
            page.on(
                "console",
                lambda msg: (
                    errors.append(f"console: {msg.text} ({msg.location.get('url')})")
                    if msg.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            yield page, errors
        finally:
            browser.close()


def wait_loaded(page) -> None:
    page.wait_for_selector('body[data-loaded="true"]', state="attached")
    # Chart.js animates each update; clicks hit-test the bars where they are drawn right now.
    page.wait_for_function(
        """() => [...document.querySelectorAll("canvas")].every((canvas) => {
            const chart = Chart.getChart(canvas);
            return !chart || !Chart.animator.running(chart);
        })"""
    )


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
    page, console_errors = browser_page
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

    assert [e for e in console_errors if "favicon" not in e] == []
