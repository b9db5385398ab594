"""Browser fixtures: Debian's Chromium, driven by Playwright, against a real daphne.

The page server is a gateway process from tests.gateways on the test database, so the
tests need PostgreSQL (DATABASE_URL); they skip on the embedded SQLite default, whose
test database lives in the test process's memory. Without Playwright (the dev extra) the
browser tests skip; the others in this folder still run.
"""

from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from tests.browser import ASYNC_UNSAFE, chromium_for_tests
from tests.gateways import Gateway, start_gateway


@pytest.fixture(scope="module")
def browser():
    # The page reconnects with backoff and the server takes a moment to start: waiting for
    # the page to reach a state may take this long. Assertions wait for states, not for time.
    with chromium_for_tests(expect_timeout_ms=20_000) as browser:
        yield browser


class PageServer:
    """A daphne serving the pages and /ws/live/, which a test can stop and start again."""

    def __init__(self, tmp_path: Path, extra_env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.extra_env = {ASYNC_UNSAFE: "", **extra_env}
        self.gateway: Gateway = start_gateway(tmp_path, self.extra_env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.port}"

    def stop(self) -> None:
        self.gateway.stop()

    def restart(self) -> None:
        """Start again on the same port, as a restarted server behind a load balancer."""
        self.gateway = start_gateway(self.tmp_path, self.extra_env, port=self.gateway.port)


@pytest.fixture
def page_server(request, tmp_path, transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("browser tests need PostgreSQL: set DATABASE_URL (and REDIS_URL)")
    marker = request.node.get_closest_marker("server_env")
    server = PageServer(tmp_path, marker.kwargs if marker else {})
    yield server
    server.stop()


@pytest.fixture
def open_page(browser, page_server):
    """Open the stream page as `user` (None: anonymous) once it has joined the stream.

    `ready` is what the connection status says then: "Live", or "Stream ended"; `touch`
    makes it a phone's browser (touch events, no hover).
    """
    from playwright.sync_api import expect  # present: the browser fixture skips without it

    contexts = []

    def open_stream_page(stream, user=None, viewport=None, ready="Live", touch=False):
        # touch: a phone's browser, with touch events and no hover (`@media (hover: none)`).
        context = browser.new_context(
            base_url=page_server.url,
            viewport=viewport or {"width": 1280, "height": 800},
            has_touch=touch,
            is_mobile=touch,
        )
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            session = client.cookies["sessionid"].value
            context.add_cookies([{"name": "sessionid", "value": session, "url": page_server.url}])
        page = context.new_page()
        page.errors = []
        page.dialogs = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"/streams/{stream.id}/")
        expect(page.locator("[data-connection]")).to_have_text(ready)
        return page

    yield open_stream_page
    for context in contexts:
        for page in context.pages:
            assert page.errors == [], page.errors
        context.close()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "server_env(**variables): environment for the page server of this test"
    )
