"""The test personas in the browser: denied, sign-up with a one-time code, pending review."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e import test_checkout_page as base
from tests.e2e.test_checkout_page import Checkout, Shop

# The fixtures of the checkout-page tests, shared by name.
browser = base.browser
checkout = base.checkout
shop = base.shop
shots = base.shots


def test_a_denied_shopper_can_try_again_with_another_address(
    checkout: Callable[..., Checkout], shop: Shop
) -> None:
    session = checkout()
    session.identify("anna+denied@example.com")
    session.address()
    session.pay("invoice")
    session.buy()
    session.frame.locator("#purchase-denied").wait_for()
    session.wait_event("can_not_complete_order")
    session.shot("denied")
    assert session.read()["status"] == "checkout_incomplete"
    # The persona is the e-mail address: another address gets through.
    session.frame.locator("#use-another-email").click()
    session.identify("anna@example.com")
    session.address()
    session.pay("direct_debit")
    session.buy()
    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")
    assert session.read()["status"] == "checkout_complete"


def test_a_sign_up_persona_needs_a_one_time_code(
    checkout: Callable[..., Checkout], shop: Shop
) -> None:
    session = checkout()
    session.identify("new+require_signup@example.com")
    session.address()
    session.pay()
    session.buy()
    session.step("signup")
    session.frame.locator("#otp").fill("999999")
    session.frame.locator("#signup-button").click()
    session.frame.locator("#step-error").wait_for()
    assert "code is not right" in session.frame.locator("#step-error").inner_text()
    assert session.read()["status"] == "checkout_incomplete"
    session.frame.locator("#otp").fill("123456")
    session.shot("signup")
    session.frame.locator("#signup-button").click()
    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")
    assert session.read()["status"] == "checkout_complete"


def test_a_pending_persona_completes_for_review(
    checkout: Callable[..., Checkout], shop: Shop
) -> None:
    session = checkout()
    session.identify("pat+pend-accept-05@example.com")
    session.address()
    session.pay()
    session.buy()
    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")
    assert session.read()["status"] == "checkout_complete"
    session.frame.locator("#pending-note").wait_for()
