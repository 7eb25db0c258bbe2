"""The demo shop in a real browser (Debian's Chromium, driven by Playwright), 320 px wide.

A newcomer's walk: open `/demo`, choose a quantity, go to checkout and see the embedded checkout
iframe. Paying inside the iframe belongs to the hosted checkout page; the order is completed with
the sandbox control API instead, and the browser then opens the confirmation page the platform
redirects to.
"""

from __future__ import annotations

from typing import Any

import httpx

from kco_sandbox.demo_shop.pages import NOTICE
from tests.factories import MERCHANT
from tests.live import LiveServer

WIDTH = 320


def fits_the_width(page: Any) -> bool:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width <= WIDTH


def test_a_shopper_buys_a_t_shirt_in_the_demo_shop(live_server: LiveServer, browser: Any) -> None:
    page = browser.new_page(viewport={"width": WIDTH, "height": 640})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(live_server.url + "/demo")
    assert NOTICE in page.inner_text("#demo-notice")
    assert "249.00 SEK incl. 25 % VAT" in page.inner_text("#demo-price")
    assert fits_the_width(page)
    page.fill("#quantity", "2")
    page.click("#go-to-checkout")

    iframe = page.wait_for_selector("iframe#klarna-checkout-iframe")
    assert iframe is not None
    assert page.url.startswith(live_server.url + "/demo/checkout?order_id=")
    order_id = page.inner_text("#demo-order-id")
    assert iframe.get_attribute("src") == f"{live_server.url}/kco/checkout/{order_id}"
    assert page.inner_text("#demo-order-status") == "checkout_incomplete"
    assert page.locator("iframe#klarna-checkout-iframe").count() == 1
    assert NOTICE in page.inner_text("#demo-notice")
    assert fits_the_width(page)

    completed = httpx.post(
        f"{live_server.url}/_sandbox/orders/{order_id}/complete",
        json={},
        auth=(MERCHANT.merchant_id, MERCHANT.api_key),
    )
    assert completed.status_code == 200, completed.text
    redirect_url = completed.json()["redirect_url"]
    assert redirect_url == f"{live_server.url}/demo/confirmation?order_id={order_id}"

    page.goto(redirect_url)
    assert "Thank you" in page.inner_text("h1")
    assert page.inner_text("#demo-order-status") == "checkout_complete"
    assert page.wait_for_selector("iframe#klarna-checkout-iframe") is not None
    assert fits_the_width(page)

    pushed = httpx.post(f"{live_server.url}/demo/push?order_id={order_id}")
    assert pushed.status_code == 200
    page.click("#demo-order-link")
    page.wait_for_selector("#demo-order-json")
    assert page.locator("#demo-pushes li").count() == 1
    assert '"status": "checkout_complete"' in page.inner_text("#demo-order-json")
    assert fits_the_width(page)
    assert errors == []
    page.close()


def test_a_bad_quantity_shows_a_message_in_the_browser(
    live_server: LiveServer, browser: Any
) -> None:
    page = browser.new_page(viewport={"width": WIDTH, "height": 640})
    page.goto(live_server.url + "/demo")
    # The number field stops a shopper's typing; a hand-made form post is what reaches the shop.
    page.evaluate("document.getElementById('quantity').type = 'text'")
    page.fill("#quantity", "abc")
    page.click("#go-to-checkout")
    page.wait_for_selector("#demo-error")
    assert "Quantity must be a whole number from 1 to 10." in page.inner_text("#demo-error")
    assert fits_the_width(page)
    page.close()
