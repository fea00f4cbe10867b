"""The browser harness the browser test files share: Debian's chromium driven by Playwright.

Each browser test file starts with ``from tests.browser import ...``: the import skips the module
when chromium or Playwright is missing, except under CI (``CI`` set), where a missing browser is
a failure, so the browser tests can never pass by not running. ``open_page`` yields a page and
what went wrong in it so far: console errors, uncaught exceptions and Content Security Policy
violations, which a test asserts empty at its end (``assert_clean``).
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI runs the browser tests: install Debian's chromium")
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
DESKTOP = {"width": 1440, "height": 900}
MOBILE = {"width": 390, "height": 844}

# Recorded in the page from its first script on: the browser reports CSP violations as DOM
# events (and a console message Playwright does not always see for blocked inline styles).
_RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || document.location.pathname}:${e.lineNumber}`);
});
"""


class Problems(list):
    """What went wrong in a page: console errors, page errors; CSP violations on demand."""

    def __init__(self, page: "sync_api.Page") -> None:
        super().__init__()
        self.page = page

    def all(self) -> list[str]:
        """Everything so far, the current document's CSP violations included."""
        try:
            violations = self.page.evaluate("() => window.__cspViolations || []")
        except sync_api.Error:  # the page is navigating; its violations are reported on load
            violations = []
        return [*self, *(f"csp: {v}" for v in violations)]


@contextmanager
def open_page(viewport: dict[str, int] = DESKTOP) -> Iterator[tuple["sync_api.Page", Problems]]:
    """(page, problems): a signed-out chromium page of the given size.

    Playwright's event loop makes Django refuse ORM calls from the test's thread; the calling
    fixture sets DJANGO_ALLOW_ASYNC_UNSAFE while the browser runs (see ``browser_page``).
    """
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport=viewport)
            context.set_default_timeout(TIMEOUT_MS)
            context.add_init_script(_RECORD_CSP)
            page = context.new_page()
            problems = Problems(page)

            def console(msg: "sync_api.ConsoleMessage") -> None:
                if msg.type == "error":
                    problems.append(f"console: {msg.text} ({msg.location.get('url')})")

            page.on("console", console)
            page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
            # A violation recorded just before a navigation would be lost with its document.
            page.on("framenavigated", lambda frame: _keep_violations(frame, problems))
            yield page, problems
        finally:
            browser.close()


def _keep_violations(frame: "sync_api.Frame", problems: Problems) -> None:
    if frame.parent_frame is None:
        problems.extend(f"csp: {v}" for v in _violations(frame))


def _violations(frame: "sync_api.Frame") -> list[str]:
    try:
        return frame.evaluate("() => window.__cspViolations || []")
    except sync_api.Error:
        return []


def sign_in(page: "sync_api.Page", live_server_url: str, next_url: str = "/dashboard/") -> None:
    """Sign in as the ``marketer`` fixture's user through the real login page."""
    page.goto(f"{live_server_url}/accounts/login/?next={next_url}")
    page.fill("#id_username", "mia")
    page.fill("#id_password", "a-long-passphrase")
    page.click("form.auth-form button[type=submit]")
    page.wait_for_load_state("load")


def wait_loaded(page: "sync_api.Page") -> None:
    """The dashboard has drawn its numbers and Chart.js has stopped animating."""
    page.wait_for_selector('body[data-loaded="true"]', state="attached")
    # Chart.js animates each update; clicks hit-test the bars where they are drawn right now.
    page.wait_for_function(
        """() => [...document.querySelectorAll("canvas")].every((canvas) => {
            const chart = window.Chart && Chart.getChart(canvas);
            return !chart || !Chart.animator.running(chart);
        })"""
    )


def query(page: "sync_api.Page") -> dict[str, list[str]]:
    """The page's query parameters, empty ones too (bucket= says "the range decides")."""
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def summary_clicks(page: "sync_api.Page") -> str:
    """The Clicks card's number, as shown."""
    return page.inner_text("#summary-clicks").strip()


def table_rows(page: "sync_api.Page", dimension: str) -> list[tuple[str, str]]:
    """(label, clicks) of a breakdown list's rows, as shown."""
    rows = page.eval_on_selector_all(
        f"#list-{dimension} .bar-list__row",
        """rows => rows.map(r => [
            r.querySelector('.bar-list__label').textContent.trim(),
            r.querySelector('.bar-list__clicks').textContent.trim(),
        ])""",
    )
    return [tuple(row) for row in rows]


def assert_clean(problems: Problems) -> None:
    """No console error, uncaught exception or CSP violation happened in the page."""
    assert problems.all() == []


def screenshot(page: "sync_api.Page", name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.fixture
def browser_page(live_server, marketer, monkeypatch):
    """(page, problems): a signed-out desktop page; the ``marketer`` (mia) can sign in.

    Request the test's data fixtures before this one: once Playwright runs, ORM calls need
    DJANGO_ALLOW_ASYNC_UNSAFE, which is set only while the browser runs.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with open_page() as (page, problems):
        yield page, problems
