"""Browser tests of the staff console: Playwright driving the system's Chromium (Debian's
package, never a downloaded browser) against pytest-django's live server.

One browser for all of them, a fresh context (cookies, storage) per test. Where no Chromium is
installed the tests skip and say so; CI installs it (.ci/run)."""

import os
import shutil
from collections.abc import Iterator

import pytest

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


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """Lives while this package's tests run: Playwright's sync API keeps an event loop in the
    test's thread, which Django's guard against ORM calls from async code would take for an
    async context. The guard is lifted for these tests only (the setting must not reach other
    tests, nor the processes they start: ``check --deploy`` refuses it)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "Chromium is not installed (apt-get install chromium, or set ATRIUM_CHROMIUM): "
            "the staff console's browser tests did not run."
        )
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
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
