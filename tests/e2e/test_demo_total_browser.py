"""The demo shop's order panel and the checkout frame agree on the total, in a real browser.

The shopper picks home delivery in the checkout; the checkout fires `order_total_change`, and the
shop's own script (`/demo/checkout.js`) writes the new total into its panel, as a shop would.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.live import LiveServer

expect = pytest.importorskip("playwright.sync_api").expect


def test_the_panels_total_follows_the_checkout(live_server: LiveServer, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 740})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/demo")
    page.click("#go-to-checkout")
    page.wait_for_selector("iframe#klarna-checkout-iframe")
    assert page.inner_text("#demo-order-total") == "249.00 SEK"
    frame = page.frame_locator("iframe#klarna-checkout-iframe")
    frame.locator("#cart-total").wait_for()
    assert frame.locator("#cart-total").inner_text() == "249,00\xa0kr"

    # The vendor's Swedish sample person: the checkout fills the address in.
    frame.locator("#email").fill("customer@email.se")
    frame.locator("#postal_code").fill("12345")
    frame.locator("#identify-button").click()
    frame.locator("#lookup-notice").wait_for()
    frame.locator("#address-button").click()
    frame.locator("body[data-step=shipping]").wait_for()
    frame.locator("#shipping-button").click()  # home delivery is preselected
    frame.locator("body[data-step=payment]").wait_for()
    assert frame.locator("#cart-total").inner_text() == "298,00\xa0kr"
    # (The shop's policy allows no `eval`, so Playwright's own wait, not `wait_for_function`.)
    expect(page.locator("#demo-order-total")).to_have_text("298.00 SEK")
    # A reload reads the order again: the same total.
    page.reload()
    page.wait_for_selector("iframe#klarna-checkout-iframe")
    assert page.inner_text("#demo-order-total") == "298.00 SEK"
    assert errors == []
    page.close()
