"""Saved views in a real browser, as a marketer uses them: change the dashboard, save it, open it
again from the menu, then on its page create a password-protected shared link, schedule a report
and an alert, and hand the link to someone who never signed in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import AlertRule, ReportSchedule, SavedView, SharedLink
from tests.browser import (
    MOBILE,
    assert_clean,
    browser_page,
    open_page,
    sign_in,
    wait_loaded,
)

__all__ = ["browser_page"]  # a fixture, used by name

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def clicks(make_click, make_campaign):
    spring = make_campaign("Spring sale")
    now = timezone.now()
    for hours, country in ((2, "DE"), (3, "DE"), (4, "US"), (5, "FR")):
        make_click(now - timedelta(hours=hours), campaign=spring, country=country)
    return spring


def test_save_the_dashboard_and_open_it_from_the_menu(browser_page, live_server):
    page, problems = browser_page
    sign_in(page, live_server.url, "/dashboard/?range=7d")
    wait_loaded(page)
    # Filter by Germany the way a marketer does: a row of the country list (the address changes
    # without a reload, and the saved view must be what is on screen now).
    page.get_by_role("tab", name="Country").click()
    page.locator("#list-country .bar-list__row", has_text="Germany").click()
    wait_loaded(page)

    page.locator("#saved-views > summary").click()
    page.fill("#save-view-name", "Germany this week")
    page.check("#save-view-form input[name=visibility][value=team]")
    page.click("#save-view-form button[type=submit]")
    wait_loaded(page)

    view = SavedView.objects.get()
    assert (view.name, view.visibility) == ("Germany this week", "team")
    assert view.query == "range=7d&tz=UTC&country=DE"
    assert page.inner_text("#summary-clicks").strip() == "2"
    assert "Saved “Germany this week”." in page.inner_text(".messages")

    page.goto(f"{live_server.url}/dashboard/")
    wait_loaded(page)
    page.locator("#saved-views > summary").click()
    page.get_by_role("link", name="Germany this week").click()
    wait_loaded(page)

    assert page.inner_text("#summary-clicks").strip() == "2"
    assert page.locator("#saved-views a[aria-current=true]").text_content() == "Germany this week"
    assert_clean(problems)


def test_share_schedule_and_alert_from_the_views_page(browser_page, live_server, marketer):
    view = SavedView.objects.create(name="Spring", owner=marketer, query="range=30d&tz=UTC")
    page, problems = browser_page
    sign_in(page, live_server.url, f"/views/{view.pk}/")

    page.fill("#new-link #id_label", "ACME review")
    page.fill("#new-link #id_password", "open sesame")
    page.click("#new-link button[type=submit]")
    page.fill("#new-report #id_recipients", "boss@client.example")
    page.select_option("#new-report #id_frequency", "monthly")
    page.click("#new-report button[type=submit]")
    page.fill("#new-alert #id_name", "Spring drop")
    page.select_option("#new-alert #id_kind", "clicks_drop")
    page.fill("#new-alert #id_threshold", "150")
    page.fill("#new-alert #id_recipients", "ops@example.com")
    page.click("#new-alert button[type=submit]")
    refused = page.locator("#new-alert .field__error").inner_text()
    # The refused form is answered 400 on purpose; Chromium logs the document's status.
    problems[:] = [p for p in problems if not ("status of 400" in p and "/alerts/" in p)]
    page.fill("#new-alert #id_threshold", "50")
    page.click("#new-alert button[type=submit]")
    url = page.input_value(".share-url")

    assert refused == "A drop is below 100%: give 1 to 99."
    assert SharedLink.objects.get().check_password("open sesame")
    assert ReportSchedule.objects.get().frequency == "monthly"
    assert AlertRule.objects.get().threshold == 50
    assert url == f"http://127.0.0.1:8000/s/{SharedLink.objects.get().token}/"
    assert_clean(problems)

    # Someone who never signed in, on a phone: a new browser context, no session.
    visitor = page.context.browser.new_context(viewport=MOBILE).new_page()
    errors: list[str] = []
    visitor.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    visitor.on("pageerror", lambda exc: errors.append(str(exc)))
    visitor.goto(url.replace("http://127.0.0.1:8000", live_server.url))
    visitor.fill("#share-password", "open sesame")
    visitor.click("form.auth-form button[type=submit]")
    wait_loaded(visitor)
    clicks = visitor.inner_text("#summary-clicks").strip()
    fits = visitor.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

    assert errors == []
    assert clicks == "4"
    assert fits


def test_views_page_fits_a_phone(live_server, marketer, monkeypatch):
    view = SavedView.objects.create(name="Spring", owner=marketer, query="range=30d&tz=UTC")
    SharedLink.objects.create(label="A client with a rather long name", saved_view=view)
    ReportSchedule.objects.create(
        saved_view=view, frequency="weekly", recipients="a@example.com, b@example.com"
    )
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with open_page(MOBILE) as (page, problems):
        sign_in(page, live_server.url, f"/views/{view.pk}/")
        fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert_clean(problems)

    assert fits
