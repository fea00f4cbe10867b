"""The dashboard's breakdown panels in a real browser: compact lists with inline bars, tabs for
related breakdowns, what "Direct", "Unknown" and "No campaign" mean, one share format, and a page
short enough to read, at desktop and mobile widths.
"""

import re
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import Campaign, Link, Sender
from analytics.templatetags.shares import share as format_share
from tests.browser import DESKTOP, MOBILE, assert_clean, open_page, screenshot, sign_in, wait_loaded

# The live server answers from another thread, so the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

LONG_CAMPAIGN = "Spring Sale 2026 - Early Bird Newsletter for Returning Customers in Latin America"
COUNTRIES = ["US", "DE", "FR", "GB", "CO", "BR", "IN", "JP", "ES", "IT", "NL", "SE"]
REFERERS = ["google.com", "(direct)", "", "t.co", "linkedin.com", "bing.com", "reddit.com"]
REFERERS += ["news.ycombinator.com", "duckduckgo.com", "facebook.com", "instagram.com"]
SOURCES = ["newsletter", "twitter", "linkedin", "google", "", "partner"]
MEDIUMS = ["email", "social", "cpc", "", "referral"]
BROWSERS = ["Chrome", "Safari", "Firefox", "Edge", "", "Opera", "Samsung Internet", "Brave"]
SYSTEMS = ["Windows", "iOS", "Android", "macOS", "", "Linux", "ChromeOS", "iPadOS"]
DEVICES = ["desktop", "mobile", "tablet"]
SENDERS = [Sender.DUB, Sender.HEYOO, Sender.WOODPECKER, Sender.OPPTIMA]


@pytest.fixture(autouse=True)
def clicks(make_click):
    """97 human clicks in the last 6 days, spread so that most lists have more than ten values,
    and three bot clicks."""
    campaigns = [
        Campaign.objects.create(
            sender=Sender.DUB,
            external_id=f"c{n}",
            name=LONG_CAMPAIGN if n == 0 else f"Campaign {n}",
        )
        for n in range(11)
    ]
    links = [
        Link.objects.create(
            sender=Sender.DUB,
            external_id=f"link_{n}",
            short_link=f"https://dub.sh/l{n}",
            destination_url=f"https://example.com/page-{n}",
        )
        for n in range(4)
    ]
    now = timezone.now()
    for n in range(97):
        make_click(
            now - timedelta(hours=1 + n * 1.4),
            sender=SENDERS[n % 4 if n % 3 else 0],
            country=COUNTRIES[n % len(COUNTRIES)] if n % 10 else "",
            city=f"City {n % 13}" if n % 9 else "",
            device=DEVICES[n % 3 if n % 4 else 1],
            browser=BROWSERS[n % len(BROWSERS)],
            os=SYSTEMS[n % len(SYSTEMS)],
            referer=REFERERS[n % len(REFERERS) if n % 5 else 0],
            utm_source=SOURCES[n % len(SOURCES)],
            utm_medium=MEDIUMS[n % len(MEDIUMS)],
            campaign=None if n % 6 == 0 else campaigns[n % len(campaigns)],
            link=links[n % 4] if n % 2 else None,
            url=f"https://example.com/page-{n % 12}" if n % 8 else "",
        )
    for reason in ("user_agent", "scanner_burst", "datacenter_ip"):
        make_click(now - timedelta(hours=3), country="US", bot_reason=reason)


@pytest.fixture
def browser(live_server, marketer, monkeypatch):
    """A function (viewport, path) -> (page, problems), signed in as the marketer (mia), the
    dashboard loaded."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with ExitStack() as stack:

        def opened(viewport: dict[str, int], path: str = "/dashboard/?range=7d") -> tuple:
            page, problems = stack.enter_context(open_page(viewport))
            sign_in(page, live_server.url, path)
            wait_loaded(page)
            return page, problems

        yield opened


def list_rows(page, panel: str) -> list[dict]:
    """The visible list of a panel: label, clicks, share and bar width of each row."""
    return page.evaluate(
        """(panel) => {
            const shown = `#panel-${panel} .tab-panel:not([hidden]) .bar-list`;
            const list = document.querySelector(shown);
            if (!list) return [];
            return [...list.querySelectorAll(".bar-list__row")].map((row) => ({
                value: row.dataset.value,
                label: row.querySelector(".bar-list__label").textContent.trim(),
                clicks: row.querySelector(".bar-list__clicks").textContent.trim(),
                share: row.querySelector(".bar-list__share").textContent.trim(),
                bar: row.querySelector(".bar-list__bar").getBoundingClientRect().width,
                width: row.getBoundingClientRect().width,
                button: row.tagName === "BUTTON",
            }));
        }""",
        panel,
    )


def visible_text(page, selector: str) -> str:
    return " ".join(page.locator(selector).inner_text().split())


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "mobile"])
def test_each_panel_is_one_compact_list_with_bars_and_no_repeated_chart(browser, viewport):
    page, problems = browser(viewport)

    # No breakdown repeats its numbers as a chart: the only canvas is the time series.
    assert page.eval_on_selector_all(".breakdowns canvas", "c => c.length") == 0
    assert page.eval_on_selector_all(".breakdowns table", "t => t.length") == 0

    countries = list_rows(page, "locations")
    assert {"United States", "Germany", "Unknown"} <= {row["label"] for row in countries}
    assert len(countries) == 10  # the top ten, the rest as "Other"
    assert page.locator("#panel-locations .bar-list__other").is_visible()
    total = 97
    for row in countries:
        assert row["button"], "rows filter the dashboard: they are buttons"
        assert row["share"] == format_share(int(row["clicks"]) / total)
        # The bar behind the row is as wide as the share of the row (to a pixel or two).
        expected = float(row["share"].rstrip("%")) / 100 * row["width"]
        assert abs(row["bar"] - expected) <= 2, row
    clicks = [int(row["clicks"]) for row in countries]
    assert clicks == sorted(clicks, reverse=True) and clicks[0] > clicks[-1]
    assert countries[0]["bar"] > countries[-1]["bar"]

    # A long label is never cut off: it wraps and the whole name is on screen.
    long_label = page.locator("#panel-campaigns .bar-list__label", has_text="Spring Sale 2026")
    assert long_label.inner_text().strip() == f"{LONG_CAMPAIGN} (Dub)"
    assert long_label.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    assert long_label.evaluate("e => getComputedStyle(e).textOverflow") != "ellipsis"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]

    # "See all" is kept.
    assert page.locator("#see-all-country").is_visible()
    screenshot(page, f"panels-{'desktop' if viewport == DESKTOP else 'mobile'}.png")
    assert_clean(problems)


@pytest.mark.parametrize(
    ("viewport", "page_bound", "panels_bound"),
    [(DESKTOP, 2500, 900), (MOBILE, 4600, 2600)],
    ids=["desktop", "mobile"],
)
def test_the_dashboard_is_short_enough_to_read(browser, viewport, page_bound, panels_bound):
    """With this data, a chart and a table per breakdown made the page 4,822 px tall at
    1440x900 and 8,565 px at 390x844. One list per panel, related ones as tabs: 2,377 and
    4,353 px, the country map (about 620 and 300 px) included; the panels 810 and 2,389 px."""
    page, problems = browser(viewport)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    panels = page.evaluate("() => document.querySelector('.breakdowns').offsetHeight")
    screenshot(page, f"dashboard-{'desktop' if viewport == DESKTOP else 'mobile'}-full.png")
    assert height < page_bound
    assert panels < panels_bound
    assert_clean(problems)


def test_a_row_filters_the_dashboard_by_mouse_and_keyboard(browser):
    page, problems = browser(DESKTOP)

    page.click('#panel-locations .bar-list__row[data-value="DE"]')
    page.wait_for_url("**/dashboard/?*country=DE*")
    wait_loaded(page)
    chip = page.locator('#filter-chips li.chip[data-dimension="country"]')
    assert chip.get_attribute("data-value") == "DE"
    assert [row["label"] for row in list_rows(page, "locations")] == ["Germany"]

    page.focus('#panel-devices .bar-list__row[data-value="mobile"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/?*device=mobile*")
    wait_loaded(page)
    assert "country=DE" in page.url
    assert_clean(problems)


def test_tabs_switch_related_breakdowns_by_click_and_arrow_keys_and_are_remembered(browser):
    page, problems = browser(DESKTOP)

    tablist = page.locator("#panel-sources [role=tablist]")
    tabs = tablist.locator("[role=tab]")
    assert [t.strip() for t in tabs.all_inner_texts()] == ["Referer", "UTM source", "UTM medium"]
    assert tabs.nth(0).get_attribute("aria-selected") == "true"
    assert "Google" not in [r["label"] for r in list_rows(page, "sources")]
    assert list_rows(page, "sources")[0]["label"] == "google.com"

    tabs.nth(1).click()
    page.wait_for_function(
        "() => document.querySelector("
        "'#panel-sources [role=tabpanel]:not([hidden]) .bar-list__row')"
    )
    assert tabs.nth(1).get_attribute("aria-selected") == "true"
    assert tabs.nth(0).get_attribute("aria-selected") == "false"
    labels = [row["label"] for row in list_rows(page, "sources")]
    assert set(labels) == {"newsletter", "twitter", "linkedin", "google", "Unknown", "partner"}
    panel_id = tabs.nth(1).get_attribute("aria-controls")
    assert page.locator(f"#{panel_id}").get_attribute("role") == "tabpanel"
    assert page.locator(f"#{panel_id}").is_visible()

    # Arrow keys move between tabs (and the focus with them), Home goes to the first.
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "UTM medium"
    assert tabs.nth(2).get_attribute("aria-selected") == "true"
    page.wait_for_function(
        "() => [...document.querySelectorAll('#panel-sources [role=tabpanel]:not([hidden]) "
        ".bar-list__label')].some(e => e.textContent.trim() === 'email')"
    )
    page.keyboard.press("ArrowRight")  # wraps around
    assert tabs.nth(0).get_attribute("aria-selected") == "true"
    page.keyboard.press("End")
    assert tabs.nth(2).get_attribute("aria-selected") == "true"
    # Only the selected tab is in the tab order.
    assert tabs.nth(0).get_attribute("tabindex") == "-1"
    assert tabs.nth(2).get_attribute("tabindex") == "0"

    # Campaigns: campaign, link and destination URL.
    campaign_tabs = page.locator("#panel-campaigns [role=tab]")
    assert [t.strip() for t in campaign_tabs.all_inner_texts()] == [
        "Campaign",
        "Link",
        "Destination URL",
    ]
    campaign_tabs.nth(1).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#panel-campaigns [role=tabpanel]:not([hidden]) "
        ".bar-list__label')].some(e => e.textContent.trim() === 'https://dub.sh/l1')"
    )
    links = {row["label"]: row["clicks"] for row in list_rows(page, "campaigns")}
    assert links == {
        "No link": "49",
        "https://dub.sh/l1": "24",
        "https://dub.sh/l3": "24",
    }
    campaign_tabs.nth(2).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#panel-campaigns [role=tabpanel]:not([hidden]) "
        ".bar-list__label')].some(e => e.textContent.includes('example.com/page-'))"
    )

    # The chosen tabs survive a reload.
    page.reload()
    wait_loaded(page)
    assert page.locator("#panel-sources [role=tab]").nth(2).get_attribute("aria-selected") == (
        "true"
    )
    assert campaign_tabs.nth(2).get_attribute("aria-selected") == "true"
    assert_clean(problems)


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "mobile"])
def test_direct_unknown_and_no_campaign_are_explained_next_to_the_list(browser, viewport):
    page, problems = browser(viewport)

    # Whatever the markup, the panel says what its Direct and Unknown rows hold.
    assert "no referer was sent" in page.inner_text("#results")
    labels = [row["label"] for row in list_rows(page, "sources")]
    assert "Direct" in labels and "Unknown" in labels
    note = page.locator("#panel-sources .panel__note:visible")
    text = " ".join(note.all_inner_texts())
    assert "Direct" in text and "no referer" in text
    assert "Unknown" in text and "did not say" in text

    campaigns = [row["label"] for row in list_rows(page, "campaigns")]
    assert "No campaign" in campaigns
    text = " ".join(page.locator("#panel-campaigns .panel__note:visible").all_inner_texts())
    assert "No campaign" in text and "not tied to a campaign" in text

    # Where a list has no such row, there is nothing to explain.
    page.locator("#panel-campaigns [role=tab]", has_text="Link").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#panel-campaigns [role=tabpanel]:not([hidden]) "
        ".bar-list__label')].some(e => e.textContent.trim() === 'No link')"
    )
    text = " ".join(page.locator("#panel-campaigns .panel__note:visible").all_inner_texts())
    assert "No campaign" not in text and "No link" in text
    assert_clean(problems)


def test_shares_read_the_same_on_the_dashboard_and_see_all(browser):
    page, problems = browser(DESKTOP)
    shown = {row["label"]: row["share"] for row in list_rows(page, "locations")}
    for share in shown.values():
        assert re.fullmatch(r"(<0\.1|\d+(\.\d)?)%", share), share

    page.click("#see-all-country")
    page.wait_for_url("**/breakdown/country/**")
    full = page.eval_on_selector_all(
        "#breakdown-table tbody tr",
        "rows => rows.map(r => [r.querySelector('th').textContent.trim(), "
        "r.querySelectorAll('td.num')[r.querySelectorAll('td.num').length - 1]"
        ".textContent.trim()])",
    )
    see_all = dict(full)
    for label, share in shown.items():
        assert see_all[label] == share, label
    assert_clean(problems)
