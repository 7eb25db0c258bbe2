"""The portal's Webhooks page in a real browser (Debian's Chromium, driven by Playwright).

A live `kco-sandbox serve` and a real receiver as the merchant's endpoint: the merchant signs in,
opens Webhooks from the navigation, creates a destination by ticking two events, reveals and
copies nothing but reads its secret, sends a test event (the receiver verifies it with the
documented algorithm), rotates the secret (the page says until when the old one signs), and
deletes the destination. Wide and narrow screenshots go to `$KCO_SANDBOX_SCREENSHOTS` when set,
else to the test's temporary folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.callback_support import wait_for
from tests.factories import MERCHANT
from tests.live import LiveServer
from tests.receiver import Receiver
from tests.webhook_support import event, verify

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path, merchants=[MERCHANT])
    live.start()
    yield live
    live.stop()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KCO_SANDBOX_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_webhooks_page_end_to_end(server: LiveServer, receiver: Receiver, shots: Path) -> None:
    from tests.e2e.browser_support import chromium

    with chromium() as browser:
        page: Any = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url + "/portal/sign-in")
        page.get_by_label("Username").fill(MERCHANT.merchant_id)
        page.get_by_label("Password").fill(MERCHANT.api_key)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Webhooks").click()
        expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
        expect(page.get_by_text("No destinations yet")).to_be_visible()

        page.get_by_label("Name").fill("Shop endpoint")
        page.get_by_label("Endpoint URL").fill(receiver.url + "/hooks")
        page.get_by_label("capture.created").check()
        page.get_by_label("refund.created").check()
        page.get_by_role("button", name="Create destination").click()
        expect(page.get_by_role("status")).to_contain_text("The destination is created")
        with httpx.Client(base_url=server.url, auth=AUTH) as api:
            [hook] = api.get("/_sandbox/webhooks").json()["webhooks"]
        assert hook["events"] == ["capture.created", "refund.created"]
        page.locator("summary", has_text="Signing secret").click()
        expect(page.get_by_text(hook["signing_secret"])).to_be_visible()
        page.screenshot(path=str(shots / "portal-webhooks.png"), full_page=True)

        page.get_by_role("button", name="Send test event").click()
        expect(page.get_by_role("status")).to_contain_text("webhook.test event is queued")
        assert wait_for(lambda: len(receiver.calls("/hooks")) == 1, timeout=10)
        [received] = receiver.calls("/hooks")
        assert event(received)["type"] == "webhook.test"
        assert verify(received, hook["signing_secret"], now=time.time())

        page.get_by_role("button", name="Rotate secret").click()
        expect(page.get_by_text("still signs")).to_be_visible()
        page.set_viewport_size({"width": 360, "height": 800})
        page.screenshot(path=str(shots / "portal-webhooks-narrow.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("status")).to_contain_text("The destination is deleted")
        expect(page.get_by_text("No destinations yet")).to_be_visible()
