"""Browser tests: Playwright drives Debian's chromium against pytest-django's live_server.

Run with `make test PYTEST_ARGS="tests/e2e"`. Without /usr/bin/chromium the tests are
skipped, unless CAT4_REQUIRE_BROWSER=1 (CI), which turns the skip into a failure.
Screenshots go to tests/e2e/screenshots/ (git-ignored).
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import ConsoleMessage, Error, Page, sync_playwright

from tests.conftest import World
from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
E2E_DIR = Path(__file__).resolve().parent
SCREENSHOT_DIR = E2E_DIR / "screenshots"

VIEWPORTS = {
    "phone": {"width": 390, "height": 844},
    "tablet": {"width": 820, "height": 1180},
    "desktop": {"width": 1440, "height": 900},
}

# Reported as a console error whenever the browser itself logs a CSP violation; the
# listener is added through Playwright (CDP), which the page's CSP does not govern.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
                + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _is_e2e(item) -> bool:
    return E2E_DIR in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _is_e2e(item):
            item.add_marker(pytest.mark.e2e)


# Playwright's sync API marks an asyncio loop as running in the test thread from its
# first call until playwright.stop(). Django then refuses ORM calls (SynchronousOnly-
# Operation) unless DJANGO_ALLOW_ASYNC_UNSAFE is set. Two consequences, so that the
# browser tests leave the rest of `make test` as they found it:
# - the variable is set around each e2e test only (setup, call, teardown): set for the
#   whole session it leaks into the subprocesses of other tests, and `manage.py check
#   --deploy` rightly fails on it (async.E001);
# - Playwright and the browser live for this package only (pytest-playwright makes them
#   session-wide), so that transactional tests running after tests/e2e see no loop.

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _is_e2e(item):
        return (yield)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        return (yield)
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session", autouse=True)
def _require_chromium():
    if CHROMIUM.exists():
        return
    reason = (f"{CHROMIUM} is missing: install it with `apt-get install chromium` "
              "(Playwright's own browser downloads are not used)")
    if os.environ.get("CAT4_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CAT4_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(_require_chromium):
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def playwright():
    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def browser(browser_type, browser_type_launch_args):
    browser = browser_type.launch(**browser_type_launch_args)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args(playwright, device, live_server):
    """Relative URLs in page.goto() go to the live server."""
    args = dict(playwright.devices[device]) if device else {}
    return {**args, "base_url": live_server.url, "locale": "en-GB"}


# --- Personas, committed for real: live_server answers from another thread ----------

@pytest.fixture
def e2e_world(transactional_db, world) -> World:
    """The personas of tests/conftest.py's `world`, committed for real.

    `world` asks for `db`, but when a test also requests `transactional_db` (or uses
    live_server) pytest-django sets up the transactional kind for both: rows are
    committed, so live_server's thread sees them, and the tables are flushed afterwards.
    """
    assert not connection.in_atomic_block, "e2e personas must be committed, not in a transaction"
    return world


# --- Browser errors: none may happen in any test ----------------------------------

@dataclass
class BrowserErrors:
    """Console errors and uncaught page errors seen during one test."""

    seen: list[str] = field(default_factory=list)
    expected: list[re.Pattern] = field(default_factory=list)

    def expect(self, pattern: str) -> None:
        """Tolerate errors matching ``pattern``."""
        self.expected.append(re.compile(pattern))

    def expect_http_error(self, status: int, path: str) -> None:
        """Tolerate the line Chromium logs for every 4xx/5xx response, for one URL path."""
        self.expect(rf"status of {status} \(.*\) \(http://[^/]+{re.escape(path)}\)$")

    def unexpected(self) -> list[str]:
        return [e for e in self.seen if not any(p.search(e) for p in self.expected)]


@pytest.fixture(autouse=True)
def browser_errors(page: Page):
    """Fails the test on any console error, CSP violation or uncaught exception."""
    errors = BrowserErrors()
    page.set_default_timeout(10_000)

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            location = msg.location or {}
            errors.seen.append(f"console: {msg.text} ({location.get('url', '?')})")

    def on_page_error(exc: Error) -> None:
        errors.seen.append(f"pageerror: {exc}")

    page.add_init_script(CSP_REPORTER)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield errors
    unexpected = errors.unexpected()
    assert not unexpected, "errors in the browser:\n" + "\n".join(unexpected)


# --- Helpers --------------------------------------------------------------------

def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save ``name``.png under tests/e2e/screenshots/ and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path
