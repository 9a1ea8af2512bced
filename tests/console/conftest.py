"""Browser tests of the staff console: Playwright driving the system's Chromium (Debian's
package, never a downloaded browser) against pytest-django's live server.

One browser for the whole session, a fresh context (cookies, storage) per test. Where no
Chromium is installed the tests skip and say so; CI installs it (.ci/run)."""

import os
import shutil
from collections.abc import Iterator

import pytest

# Playwright's sync API runs an event loop in the test's thread; Django's guard against ORM
# calls from async code would then refuse the test's own setup queries.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")


def chromium_path() -> str | None:
    """``ATRIUM_CHROMIUM`` if set, else the distribution's Chromium on PATH."""
    configured = os.environ.get("ATRIUM_CHROMIUM")
    if configured:
        return configured
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator:
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "Chromium is not installed (apt-get install chromium, or set ATRIUM_CHROMIUM): "
            "the staff console's browser tests did not run."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    # A console page that waits longer than this is a failure, not a slow machine.
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()
