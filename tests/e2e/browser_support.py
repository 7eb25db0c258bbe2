"""Debian's Chromium, driven by Playwright (`executable_path`: Playwright downloads no browser).

Without Chromium the browser tests skip, or fail when `KCO_SANDBOX_REQUIRE_BROWSER=1` (CI).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched browser, closed on the way out."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("KCO_SANDBOX_REQUIRE_BROWSER") == "1":
            pytest.fail("KCO_SANDBOX_REQUIRE_BROWSER=1 but Chromium is not installed")
        pytest.skip("Chromium is not installed (Debian package `chromium`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
