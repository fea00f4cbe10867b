"""The e-mails as people read them: the report and alert e-mails the scheduler sent, rendered in
Chromium from the sent message itself (HTML with its inline chart, and the plain text), at an
e-mail pane's width and a phone's; and the report preview page a marketer opens."""

import base64
import html
from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest
from django.core import mail

from analytics import scheduling
from analytics.models import AlertRule, ReportSchedule, SavedView
from tests.browser import MOBILE, assert_clean, browser_page, open_page, sign_in

__all__ = ["browser_page"]  # a fixture, used by name

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
PANE = {"width": 640, "height": 900}


@pytest.fixture
def view(marketer, make_campaign, make_click):
    spring, other = make_campaign("Spring sale"), make_campaign("Autumn <launch>")
    for day, count in ((23, 3), (24, 5), (26, 2), (29, 4)):
        for i in range(count):
            make_click(datetime(2026, 11, day, 9 + i, tzinfo=UTC), campaign=spring, country="DE")
    make_click(datetime(2026, 11, 25, 12, tzinfo=UTC), campaign=other, country="FR")
    make_click(datetime(2026, 11, 18, 12, tzinfo=UTC), campaign=spring, referer="google.com")
    return SavedView.objects.create(name="Clients & partners", owner=marketer, query="range=30d")


@pytest.fixture
def report(view):
    return ReportSchedule.objects.create(
        saved_view=view,
        frequency=ReportSchedule.Frequency.WEEKLY,
        recipients="boss@client.example",
        created_at=datetime(2026, 11, 23, 8, tzinfo=UTC),
    )


def _html_with_inline_images(message: Message) -> str:
    """The HTML part with each cid: image swapped for a data: URL, as a mail client shows it."""
    parts = list(message.walk())
    body = next(p for p in parts if p.get_content_type() == "text/html")
    page = body.get_payload(decode=True).decode()
    for part in parts:
        if part.get_content_maintype() == "image":
            cid = part["Content-ID"].strip("<>")
            data = base64.b64encode(part.get_payload(decode=True)).decode()
            page = page.replace(f"cid:{cid}", f"data:{part.get_content_type()};base64,{data}")
    return page


def _text_page(text: str) -> str:
    return f"<!doctype html><pre id='text'>{html.escape(text)}</pre>"


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", [PANE, MOBILE], ids=["pane", "phone"])
def test_report_email_html_reads_well_with_its_chart(report, viewport):
    scheduling.run(NOW)
    message = mail.outbox[0].message()

    with open_page(viewport) as (page, problems):
        page.set_content(_html_with_inline_images(message))
        chart = page.locator("img[alt^='Chart of clicks']")
        chart.wait_for()
        loaded = chart.evaluate("img => img.complete && img.naturalWidth")
        headline = page.locator("#headline").inner_text()
        text = page.locator("body").inner_text()
        fits = _no_horizontal_scroll(page)
        chart_width = chart.evaluate("img => img.getBoundingClientRect().width")
        assert_clean(problems)

    assert loaded == 1200  # the PNG decoded: 600 CSS px at 2x
    assert 0 < chart_width <= viewport["width"]
    assert "Clicks\n\n15" in headline
    assert "+1,400% on the period before" in headline
    assert "Autumn <launch>" in text and "Spring sale" in text  # escaped, shown as text
    assert "Germany" in text and "Open the dashboard" in text
    assert fits


def test_report_email_plain_text_reads_well(report):
    scheduling.run(NOW)
    body = mail.outbox[0].body

    with open_page(PANE) as (page, problems):
        page.set_content(_text_page(body))
        shown = page.locator("#text").inner_text()
        assert_clean(problems)

    assert shown.startswith("Clients & partners: Nov 23, 2026 to Nov 29, 2026")
    assert "Clicks: 15 (+1,400% on the period before)" in shown
    assert "  1. Spring sale (Dub): 14 clicks (93.3%)" in shown
    assert "Open the dashboard: http://127.0.0.1:8000/dashboard/?" in shown
    assert "&amp;" not in shown and "&lt;" not in shown  # plain text is not HTML-escaped


def test_alert_emails_render_firing_and_resolved(view, make_click):
    AlertRule.objects.create(
        name="Bots <over> 30%",
        kind=AlertRule.Kind.BOT_SHARE,
        threshold=30,
        saved_view=view,
        recipients="ops@example.com",
    )
    hour = datetime(2026, 12, 2, 13, tzinfo=UTC)
    for i in range(10):
        make_click(hour + timedelta(minutes=i), is_bot=i < 5)
    for i in range(10):
        make_click(hour + timedelta(hours=1, minutes=i))
    scheduling.run(hour + timedelta(hours=1, minutes=10))
    scheduling.run(hour + timedelta(hours=2, minutes=10))
    firing, resolved = mail.outbox

    with open_page(PANE) as (page, problems):
        page.set_content(_html_with_inline_images(firing.message()))
        firing_state = page.locator("#alert-state").inner_text()
        firing_detail = page.locator("#alert-detail").inner_text()
        title = page.locator("h1").inner_text()
        page.set_content(_html_with_inline_images(resolved.message()))
        resolved_state = page.locator("#alert-state").inner_text()
        page.set_content(_text_page(resolved.body))
        resolved_text = page.locator("#text").inner_text()
        assert_clean(problems)

    assert (firing_state, resolved_state) == ("Alert", "Resolved")
    assert title == "Bots <over> 30%"
    assert "5 of the 10 clicks" in firing_detail
    assert resolved_text.startswith("Resolved: Bots <over> 30%")
    assert "0 of the 10 clicks" in resolved_text


def test_report_preview_page_shows_the_email(report, browser_page, live_server):
    page, problems = browser_page
    sign_in(page, live_server.url, f"/views/{report.saved_view_id}/")
    with page.expect_popup() as popup:
        page.get_by_role("link", name="Preview").first.click()
    preview = popup.value
    preview.wait_for_load_state("load")
    loaded = preview.locator("img[alt^='Chart of clicks']").evaluate(
        "img => img.complete && img.naturalWidth"
    )

    assert preview.locator("h1").inner_text() == "Clients & partners"
    assert loaded == 1200
    assert_clean(problems)
