"""Debian's Chromium, launched the one way the benchmark, the tests and the screenshots use.

Headless on this closed network: without the background-networking flags Chromium keeps
trying to reach outside hosts; --disable-gpu paints in software (there is no GPU here).
"""

import os
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright: Any) -> Any:
    """A headless Chromium from a running Playwright (sync API)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
