"""Shipping options in the browser: priced by the platform, or by the merchant's callback."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e import test_checkout_page as base
from tests.e2e.test_checkout_page import SHIPPING, Checkout
from tests.factories import make_line
from tests.receiver import Receiver, Reply

# The fixtures of the checkout-page tests, shared by name.
browser = base.browser
checkout = base.checkout
shop = base.shop
shots = base.shots


def test_shipping_options_priced_by_the_platform(checkout: Callable[..., Checkout]) -> None:
    session = checkout(shipping_options=[*SHIPPING[:1], {**SHIPPING[1], "preselected": True}])
    session.identify("alva@example.com")
    session.address()
    session.step("shipping")
    assert session.frame.locator("#shipping-option-1").is_checked()
    session.frame.locator("#shipping-button").click()
    session.step("payment")
    order = session.read()
    assert order["order_amount"] == 54900
    assert order["order_lines"][-1]["type"] == "shipping_fee"
    assert session.wait_event("order_total_change") == {"order_total": 54900}
    assert session.wait_event("shipping_option_change")["id"] == "home"


def test_shipping_option_update_calls_the_merchant(
    checkout: Callable[..., Checkout], receiver: Receiver
) -> None:
    fee = make_line(
        type="shipping_fee",
        reference="home",
        name="Home delivery",
        quantity=1,
        unit_price=4900,
        tax_rate=2500,
        total_amount=4900,
        total_tax_amount=980,
    )
    cart = {
        "order_amount": 54900,
        "order_tax_amount": 5525,
        "purchase_currency": "SEK",
        "order_lines": [make_line(), fee],
    }
    receiver.on("/shipping", Reply(200, cart))
    session = checkout(
        shipping_options=SHIPPING,
        merchant_urls={"shipping_option_update": receiver.url + "/shipping"},
    )
    session.identify("alva@example.com")
    session.address()
    session.step("shipping")
    session.frame.locator("#shipping-option-1").check()
    session.frame.locator("#shipping-button").click()
    session.step("payment")
    [call] = receiver.calls("/shipping")
    assert call.json()["selected_shipping_option"]["id"] == "home"
    assert call.json()["order_amount"] == 50000
    assert session.read()["order_lines"] == cart["order_lines"]
    assert session.wait_event("order_total_change") == {"order_total": 54900}
