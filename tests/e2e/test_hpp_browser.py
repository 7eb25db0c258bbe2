"""A Hosted Payment Page session paid in a real browser: the shopper opens the session's
`redirect_url` (pay by link), buys in the hosted checkout it shows and lands on the merchant's
success URL, served by a local receiver, with the placeholders filled; the merchant's
`status_update` URL hears IN_PROGRESS and COMPLETED from the server's own delivery worker.
A declined shopper lands on the failure URL instead. Screenshots go to `KCO_SANDBOX_SCREENSHOTS`
if set, else into the test's temporary folder.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser_support import chromium
from tests.factories import MERCHANT, make_order
from tests.live import LiveServer
from tests.receiver import Receiver

pytest.importorskip("playwright.sync_api")

ORDERS = "/checkout/v3/orders"
SESSIONS = "/hpp/v1/sessions"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KCO_SANDBOX_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def api(server: LiveServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    auth = (MERCHANT.merchant_id, MERCHANT.api_key)
    return httpx.request(method, server.url + path, auth=auth, **kwargs)


def pay_by_link(server: LiveServer, receiver: Receiver) -> tuple[str, dict[str, Any]]:
    """A checkout order and an HPP session for it; the order id and the create answer."""
    created = api(server, "post", ORDERS, json=make_order())
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    session = api(
        server,
        "post",
        SESSIONS,
        json={
            "payment_session_url": f"{server.url}{ORDERS}/{order_id}",
            "merchant_urls": {
                "success": receiver.url + "/thanks?sid={{session_id}}&order_id={{order_id}}",
                "failure": receiver.url + "/failed?sid={{session_id}}",
                "status_update": receiver.url + "/hpp-status?sid={{session_id}}",
            },
            "options": {"page_title": "Pay for order 1001"},
        },
    )
    assert session.status_code == 201, session.text
    return order_id, session.json()


def shop(page: Any, email: str) -> Any:
    """Identify, give an address and choose invoice in the hosted checkout's frame."""
    frame = page.frame_locator("iframe#klarna-checkout-iframe")
    frame.locator("body[data-step=identify]").wait_for()
    frame.locator("#email").fill(email)
    frame.locator("#postal_code").fill("11122")
    frame.locator("#identify-button").click()
    frame.locator("body[data-step=address]").wait_for()
    for name, value in {
        "given_name": "Alva",
        "family_name": "Berg",
        "street_address": "Storgatan 2",
        "postal_code": "11122",
        "city": "Stockholm",
        "phone": "+46700000000",
    }.items():
        frame.locator(f"#{name}").fill(value)
    frame.locator("#address-button").click()
    frame.locator("body[data-step=payment]").wait_for()
    frame.locator("#payment-method-invoice").check()
    frame.locator("#payment-button").click()
    frame.locator("body[data-step=summary]").wait_for()
    return frame


def statuses(receiver: Receiver, wanted: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = [call.json()["session"]["status"] for call in receiver.calls("/hpp-status")]
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_pay_by_link_session_completed_in_the_browser_lands_on_the_success_url(
    live_server: LiveServer, receiver: Receiver, browser: Any, shots: Path
) -> None:
    order_id, created = pay_by_link(live_server, receiver)
    session_id = created["session_id"]
    page = browser.new_page(viewport={"width": 900, "height": 1000})
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(created["redirect_url"])
    assert page.locator("#hpp-title").inner_text() == "Pay for order 1001"
    frame = shop(page, "alva@example.com")
    page.wait_for_timeout(300)  # the frame's height settles
    page.screenshot(path=str(shots / "hpp-session-page.png"), full_page=True)
    frame.locator("#buy-button").click()
    page.wait_for_url(f"{receiver.url}/thanks?sid={session_id}&order_id={order_id}")
    assert errors == []

    read = api(live_server, "get", f"{SESSIONS}/{session_id}").json()
    assert read["status"] == "COMPLETED"
    assert read["order_id"] == order_id
    assert read["klarna_reference"]
    order = api(live_server, "get", f"{ORDERS}/{order_id}").json()
    assert order["status"] == "checkout_complete"
    assert statuses(receiver, 2) == ["IN_PROGRESS", "COMPLETED"]
    page.close()


def test_a_declined_shopper_lands_on_the_failure_url(
    live_server: LiveServer, receiver: Receiver, browser: Any
) -> None:
    order_id, created = pay_by_link(live_server, receiver)
    session_id = created["session_id"]
    page = browser.new_page(viewport={"width": 900, "height": 1000})
    page.set_default_timeout(10_000)
    page.goto(created["redirect_url"])
    frame = shop(page, "alva+denied@example.com")
    frame.locator("#buy-button").click()
    page.wait_for_url(f"{receiver.url}/failed?sid={session_id}")
    assert api(live_server, "get", f"{SESSIONS}/{session_id}").json()["status"] == "FAILED"
    assert api(live_server, "get", f"{ORDERS}/{order_id}").json()["status"] == (
        "checkout_incomplete"
    )
    assert statuses(receiver, 2) == ["IN_PROGRESS", "FAILED"]
    # Failed is not final: the link opens the checkout again.
    page.goto(created["redirect_url"])
    page.locator("#hpp-title").wait_for()
    assert api(live_server, "get", f"{SESSIONS}/{session_id}").json()["status"] == "IN_PROGRESS"
    page.close()
