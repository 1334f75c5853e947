"""Browser tests: the system Chromium, driven by Playwright, against pytest-django's live server.

Playwright's sync API runs an event loop in the test's thread, and Django refuses
ORM calls from a thread with a running loop unless told it is safe: it is here, the
test thread reads the database only between browser steps.
"""

import os
import shutil
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
# The README's pictures are refreshed on demand (UPDATE_SCREENSHOTS=1 make test);
# ordinary runs write theirs under var/ so that the work tree stays clean.
SCREENSHOTS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "var/screenshots")


def browser_required() -> bool:
    """REQUIRE_BROWSER=1 (CI) turns a missing Chromium or espeak-ng into a failure, not a skip."""
    return os.environ.get("REQUIRE_BROWSER") == "1"


def skip_or_fail(reason: str) -> None:
    if browser_required():
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM}: browser tests skipped; apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh French-speaking tab; the test fails if the console shows an error or a CSP violation."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = []
    # A test that opens an error page on purpose lists it here: Chromium logs its status as a console error.
    page.expected_error_pages = set()

    def on_console(message):
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and message.location["url"] in page.expected_error_pages:
            return
        problems.append(f"console: {message.text} ({message.location['url']})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    # Chromium logs CSP violations to the console too; the event says which directive, whatever the wording.
    page.expose_function("__reportCspViolation", lambda text: problems.append(f"CSP: {text}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (event) => "
        "window.__reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI} on ${event.documentURI}"
        " (${event.target && event.target.outerHTML ? event.target.outerHTML.slice(0, 200) : event.target}"
        " ${event.sourceFile || ''}:${event.lineNumber} ${event.sample})`));"
    )
    yield page
    context.close()
    if problems:
        pytest.fail("The browser reported errors:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def site(live_server, settings):
    """The live server, with the links in mails pointing at it."""
    settings.SITE_URL = live_server.url
    return live_server


@pytest.fixture
def espeak():
    if not shutil.which("espeak-ng"):
        skip_or_fail("espeak-ng not found: the captcha's audio version cannot be spoken; apt-get install espeak-ng")


@pytest.fixture
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
