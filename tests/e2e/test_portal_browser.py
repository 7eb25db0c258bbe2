"""The merchant portal in a real browser (Debian's Chromium, driven by Playwright), end to end.

A live `kco-sandbox serve` with two merchants, and a real HTTP receiver as the first merchant's
shop (its push URL and confirmation page). A merchant's walk: the landing page, the link to the
portal, signing in with the API credentials; an order created through the API is found in the
orders list and opened; in another tab a shopper completes it on the hosted checkout page, and
the open order page's timeline shows the purchase within seconds, without a reload (server-sent
events). Then a capture, a refund and a refused over-capture from the order page, each checked
against the Order Management API; the sandbox clock moved an hour forward from the Sandbox page,
after which the push has reached the shop and its attempt is on the timeline; the journal and its
HAR export. Last, the second merchant signs in and sees none of it.

Screenshots go to `$KCO_SANDBOX_SCREENSHOTS` (the documentation's, `docs/images`) when it is set,
else to the test's temporary folder, so an ordinary run never rewrites the repository.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kco_sandbox.domain.merchant import Merchant
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order
from tests.live import LiveServer
from tests.receiver import Receiver

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)
WIDE, NARROW = 1280, 360
LIVE_WAIT = 5_000  # ms: a purchase reaches an open order page within a few seconds (1 s polls)
REFUSAL = "Captured amount is higher than the remaining authorized amount. Capture not possible."


@pytest.fixture
def shop() -> Iterator[Receiver]:
    """The merchant's shop: receives the pushes and serves the confirmation page (any 200)."""
    with Receiver().running() as running:
        yield running


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KCO_SANDBOX_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def create_order(server: LiveServer, shop: Receiver, reference: str) -> str:
    urls = make_order()["merchant_urls"] | {
        "push": shop.url + "/push?order={checkout.order.id}",
        "confirmation": shop.url + "/confirmation?order={checkout.order.id}",
    }
    created = httpx.post(
        server.url + "/checkout/v3/orders",
        json=make_order(merchant_urls=urls, merchant_reference1=reference),
        auth=AUTH,
    )
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    return order_id


def om_order(server: LiveServer, order_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/ordermanagement/v1/orders/{order_id}", auth=AUTH)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def amounts(order: dict[str, Any]) -> dict[str, str]:
    """The three amounts the portal and the API must agree on, as the portal writes them."""
    return {
        name: f"{order[key] // 100:,}.{order[key] % 100:02d} SEK"
        for name, key in (
            ("Captured", "captured_amount"),
            ("Refunded", "refunded_amount"),
            ("Remaining authorized", "remaining_authorized_amount"),
        )
    }


def portal_amounts(page: Any) -> dict[str, str]:
    """The Order Management card's facts as the page shows them (term → text)."""
    facts: dict[str, str] = page.evaluate(
        """() => Object.fromEntries(
            [...document.querySelectorAll("section.om dl.facts > div")].map(
                (d) => [d.querySelector("dt").textContent.trim(),
                        d.querySelector("dd").textContent.trim()]))"""
    )
    return {name: facts[name] for name in ("Captured", "Refunded", "Remaining authorized")}


def agree(page: Any, server: LiveServer, order_id: str, captured: int, refunded: int) -> None:
    """The API says `captured` and `refunded` (minor units), and the page says the same."""
    order = om_order(server, order_id)
    assert (order["captured_amount"], order["refunded_amount"]) == (captured, refunded)
    assert order["remaining_authorized_amount"] == order["order_amount"] - captured
    assert portal_amounts(page) == amounts(order)


def sign_in(page: Any, merchant: Merchant) -> None:
    page.get_by_label("Username").fill(merchant.merchant_id)
    page.get_by_label("Password").fill(merchant.api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/portal/orders$"))
    expect(page.locator("header.top")).to_contain_text(merchant.merchant_id)


def nav(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Portal").get_by_role("link", name=name).click()


def fits(page: Any, width: int) -> bool:
    scroll: int = page.evaluate("document.documentElement.scrollWidth")
    return scroll <= width


def buy_as_a_shopper(page: Any, server: LiveServer, order_id: str, shop: Receiver) -> None:
    """The hosted checkout page, opened on its own (not in a merchant's iframe), step by step."""
    page.goto(f"{server.url}/kco/checkout/{order_id}")
    page.locator("body[data-step=identify]").wait_for()
    page.locator("#email").fill("alva@example.com")
    page.locator("#postal_code").fill("11122")
    page.locator("#identify-button").click()
    page.locator("body[data-step=address]").wait_for()
    address = {
        "given_name": "Alva",
        "family_name": "Berg",
        "street_address": "Storgatan 2",
        "postal_code": "11122",
        "city": "Stockholm",
        "phone": "+46700000000",
    }
    for name, value in address.items():
        page.locator(f"#{name}").fill(value)
    page.locator("#address-button").click()
    page.locator("body[data-step=payment], body[data-step=shipping]").wait_for()
    if page.locator("body[data-step=shipping]").count():
        page.locator("#shipping-button").click()
    page.locator("body[data-step=payment]").wait_for()
    page.locator("#payment-method-invoice").check()
    page.locator("#payment-button").click()
    page.locator("body[data-step=summary]").wait_for()
    page.locator("#buy-button").click()
    # The platform sends the shopper on to the shop's confirmation page.
    page.wait_for_url(f"{shop.url}/confirmation?order={order_id}")


def test_a_merchant_walks_through_the_portal(
    live_server: LiveServer, browser: Any, shop: Receiver, shots: Path
) -> None:
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    context.set_default_timeout(10_000)
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    page = context.new_page()

    # 1. The landing page, its link to the portal, signing in.
    page.goto(live_server.url + "/")
    expect(page.locator("h1")).to_contain_text("kco-sandbox")
    expect(page.locator(".landing-hero")).to_contain_text("Platform: ok")
    shot(page, shots, "portal-landing")
    page.get_by_role("link", name="Merchant portal").click()
    expect(page).to_have_url(re.compile(r"/portal/sign-in\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, shots, "portal-sign-in")
    sign_in(page, MERCHANT)

    # 2. Orders made through the API are listed; the search finds one; it opens.
    order_id = create_order(live_server, shop, "1001")
    other_id = create_order(live_server, shop, "1002")
    done = httpx.post(f"{live_server.url}/_sandbox/orders/{other_id}/complete", json={}, auth=AUTH)
    assert done.status_code == 200, done.text
    create_order(live_server, shop, "1003")
    page.reload()
    rows = page.locator("table.orders tbody tr")
    expect(rows).to_have_count(3)
    shot(page, shots, "portal-orders")
    page.get_by_label("Order id or merchant reference").fill(order_id)
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("incomplete")
    expect(rows.first).to_contain_text("1001")
    page.get_by_role("link", name=order_id).click()
    expect(page).to_have_url(f"{live_server.url}/portal/orders/{order_id}")
    expect(page.locator("h1")).to_contain_text(order_id)
    expect(page.locator("#timeline .live-indicator")).to_have_attribute("data-state", "on")
    completed = page.locator('#timeline li.entry[data-kind="purchase.completed"]')
    expect(completed).to_have_count(0)
    page.evaluate("window.__notReloaded = true")

    # 3. A shopper buys in another tab; the open order page's timeline shows it by itself.
    shopper = context.new_page()
    buy_as_a_shopper(shopper, live_server, order_id, shop)
    shopper.close()
    expect(completed).to_have_count(1, timeout=LIVE_WAIT)
    expect(completed).to_contain_text("completed")
    assert page.evaluate("window.__notReloaded === true")  # the same document: no reload

    # 4. Capture part, refund part, an over-capture refused; the page and the API agree.
    page.reload()
    expect(page.locator(".order-head")).to_contain_text("Order Management: AUTHORIZED")
    agree(page, live_server, order_id, 0, 0)
    page.get_by_label("Amount to capture").fill("120.50")
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page.locator("#actions .notice")).to_contain_text("Captured.")
    expect(page.locator("table.captures tbody tr")).to_have_count(1)
    agree(page, live_server, order_id, 12050, 0)
    page.get_by_label("Amount to refund").fill("20")
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.locator("#actions .notice")).to_contain_text("Refunded.")
    expect(page.locator("table.refunds tbody tr")).to_have_count(1)
    agree(page, live_server, order_id, 12050, 2000)
    page.get_by_label("Amount to capture").fill("1000.00")
    page.get_by_role("button", name="Capture", exact=True).click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("Capture was refused")
    expect(refusal).to_contain_text("CAPTURE_NOT_ALLOWED")
    expect(refusal).to_contain_text(REFUSAL)
    expect(page.get_by_label("Amount to capture")).to_have_value("1000.00")
    agree(page, live_server, order_id, 12050, 2000)  # nothing changed
    assert len(om_order(live_server, order_id)["captures"]) == 1
    page.goto(f"{live_server.url}/portal/orders/{order_id}")
    portal_actions = page.locator('#timeline li.entry[data-kind="portal.action"]')
    expect(portal_actions).to_have_count(3)
    expect(portal_actions.last).to_contain_text("CAPTURE_NOT_ALLOWED")
    shot(page, shots, "portal-order")
    page.set_viewport_size({"width": NARROW, "height": 800})
    assert fits(page, NARROW), "the order page is wider than a 360 px screen"
    shot(page, shots, "portal-order-360")
    page.set_viewport_size({"width": WIDE, "height": 900})

    # 5. The clock moves an hour: the push, due 2 minutes after the purchase, reaches the shop.
    assert [c for c in shop.calls("/push") if c.path.endswith(order_id)] == []
    nav(page, "Sandbox")
    expect(page.get_by_role("heading", name="Sandbox", exact=True)).to_be_visible()
    expect(page.locator("#open-orders")).not_to_contain_text(order_id)  # completed
    page.get_by_role("button", name="Advance 1 hour").click()
    expect(page.locator("main .notice")).to_contain_text("The clock moved forward")
    expect(page.locator("#clock")).to_contain_text("+ 1 h")
    shot(page, shots, "portal-sandbox")
    # Until the order is acknowledged, the push is sent again: at 2, 7, 22 and 52 minutes.
    pushes = [c for c in shop.calls("/push") if c.path == f"/push?order={order_id}"]
    assert [p.method for p in pushes] == ["POST"] * 4
    sent = len(shop.calls("/push"))  # the other completed order's pushes too
    expect(page.locator("main .notice")).to_contain_text(f"Callbacks attempted: {sent}.")
    page.goto(f"{live_server.url}/portal/orders/{order_id}")
    attempts = page.locator('#timeline li.entry[data-kind="push.attempt"]')
    expect(attempts).to_have_count(4)
    for n in range(4):
        expect(attempts.nth(n)).to_contain_text(f"Push · attempt {n + 1}")
        expect(attempts.nth(n)).to_contain_text(f"{shop.url}/push?order={order_id}")
        expect(attempts.nth(n).locator(".badge")).to_have_text("200")

    # 6. The journal, and its HAR export.
    nav(page, "Journal")
    journal = page.locator("table.journal-table tbody tr")
    expect(journal.first).to_be_visible()
    expect(page.locator(f'#journal a[title="{order_id}"]').first).to_be_visible()
    expect(page.locator("#journal")).to_contain_text("Push")
    shot(page, shots, "portal-journal")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Export HAR").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".har")
    har = json.loads(Path(download.path()).read_text())
    entries = har["log"]["entries"]
    assert entries
    assert {e["_orderId"] for e in entries} >= {order_id, other_id}
    kinds = {e["_kind"] for e in entries if e["_orderId"] == order_id}
    assert {"api.call", "push.attempt"} <= kinds
    reads = [e for e in entries if e["request"]["url"].endswith(f"/orders/{order_id}")]
    assert {(e["request"]["method"], e["response"]["status"]) for e in reads} == {("GET", 200)}
    pushed = [e for e in entries if e["_kind"] == "push.attempt" and e["_orderId"] == order_id]
    # A callback's URL without its query (where secrets may be).
    assert [(e["request"]["url"], e["response"]["status"]) for e in pushed] == [
        (shop.url + "/push", 200)
    ] * 4

    # 7. Another merchant sees none of it.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/portal/sign-in$"))
    sign_in(page, OTHER_MERCHANT)
    expect(page.locator("main")).to_contain_text("No orders yet")
    assert order_id not in page.content()
    answer = page.goto(f"{live_server.url}/portal/orders/{order_id}")
    assert answer is not None
    assert answer.status == 404
    expect(page.locator("h1")).to_have_text("Order not found")
    expect(page.locator("main")).to_contain_text(OTHER_MERCHANT.name)
    expect(page.locator("main")).not_to_contain_text("Alva")
    nav(page, "Journal")
    expect(page.locator("table.journal-table tbody tr.empty")).to_have_count(1)
    assert order_id not in page.content()
    assert other_id not in page.content()

    assert errors == []
    context.close()
