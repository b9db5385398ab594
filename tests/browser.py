"""Chromium for the browser tests: skipped with a reason when Playwright or Chromium is
missing, and the test's own ORM calls allowed while Playwright's event loop runs."""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from loadbench.browser import CHROMIUM, launch_chromium

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
PLAYWRIGHT_MISSING = "browser tests need Playwright: pip install -e '.[dev]'"


@contextmanager
def chromium_for_tests(expect_timeout_ms: int):
    """A launched Chromium; Playwright's assertions wait up to `expect_timeout_ms`."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
    playwright_api.expect.set_options(timeout=expect_timeout_ms)
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")
    # Playwright's sync API runs an event loop in this thread, which makes Django refuse
    # the test's own (synchronous, safe) ORM calls. Allowed while the browser runs; servers
    # started by the tests get the check back, so the code under test is still guarded.
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ[ASYNC_UNSAFE]
        else:
            os.environ[ASYNC_UNSAFE] = previous
