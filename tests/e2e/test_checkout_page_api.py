"""The checkout's JavaScript API in the merchant page, and the page's options, in a real browser.

Uses the merchant page, shop server and browser of `test_checkout_page`: suspend and resume,
client-side validation, the customer-type toggle, external payment methods, theming, the narrow
layout and the minimal confirmation.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e import test_checkout_page as base
from tests.e2e.test_checkout_page import Checkout, Shop

# The fixtures of the checkout-page tests, shared by name.
browser = base.browser
checkout = base.checkout
shop = base.shop
shots = base.shots

Open = Callable[..., Checkout]


def test_suspend_blocks_the_frame_and_resume_shows_the_merchants_update(checkout: Open) -> None:
    session = checkout()
    session.wait_event("load")
    session.page.evaluate("kcoApi.suspend({autoResume: {enabled: false}})")
    overlay = session.frame.locator("#klarna-checkout-suspended")
    overlay.wait_for()
    session.shot("suspended")
    order = session.read()
    lines = [*order["order_lines"], {**order["order_lines"][0], "reference": "19-403"}]
    updated = session.api(
        "post",
        f"/checkout/v3/orders/{session.order_id}",
        json={"order_lines": lines, "order_amount": 100000, "order_tax_amount": 9090},
    )
    assert updated.status_code == 200, updated.text
    assert overlay.is_visible()  # no automatic resume
    session.page.evaluate("kcoApi.resume()")
    overlay.wait_for(state="detached")
    assert session.frame.locator("#cart-total").inner_text() == "1000.00 SEK"
    assert session.wait_event("order_total_change") == {"order_total": 100000}


def test_suspend_resumes_by_itself(checkout: Open) -> None:
    session = checkout()
    session.wait_event("load")
    session.page.evaluate("kcoApi.suspend()")
    overlay = session.frame.locator("#klarna-checkout-suspended")
    overlay.wait_for()
    overlay.wait_for(state="detached", timeout=15_000)


def test_client_validation_can_stop_the_purchase(checkout: Open, shop: Shop) -> None:
    session = checkout(
        answers=[{"should_proceed": False, "message": "Please pick a delivery date first"}],
        options={"require_client_validation": True},
    )
    session.identify("alva@example.com")
    session.address()
    session.pay()
    session.buy()
    message = session.frame.locator("#client-validation-message")
    message.wait_for()
    assert message.inner_text() == "Please pick a delivery date first"
    session.shot("client-validation")
    assert session.read()["status"] == "checkout_incomplete"
    data = session.wait_event("validation_callback")
    assert data["customer"] == {"type": "person"}
    session.frame.locator("#buy-button").click()  # the second answer is should_proceed: true
    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")
    assert session.read()["status"] == "checkout_complete"
    assert session.names().count("validation_callback") == 2


def test_an_organization_buys_with_its_name(checkout: Open) -> None:
    session = checkout(options={"allowed_customer_types": ["person", "organization"]})
    session.step("identify")
    session.frame.locator("#customer_type__organization").check()
    session.identify("buyer@firm.example")
    session.address(organization_name="Firm AB")
    session.step("payment")
    order = session.read()
    assert order["customer"]["type"] == "organization"
    assert order["billing_address"]["organization_name"] == "Firm AB"
    assert session.wait_event("customer") == {"type": "organization"}


def test_an_external_payment_method_sends_the_shopper_away(checkout: Open, shop: Shop) -> None:
    shop.pages["/external"] = lambda query: "<!doctype html><p>External payment</p>"
    session = checkout(
        external_payment_methods=[
            {"name": "PayShop", "redirect_url": shop.url + "/external?id={checkout.order.id}"}
        ]
    )
    session.identify("alva@example.com")
    session.address()
    session.step("payment")
    session.frame.locator("#payment-method-external-0").check()
    session.frame.locator("#payment-button").click()
    session.page.wait_for_url(f"{shop.url}/external?id={session.order_id}")
    assert session.read()["status"] == "checkout_incomplete"
    assert "redirect_initiated" not in session.names()


def test_theme_and_narrow_layout(checkout: Open, browser: object) -> None:
    session = checkout(
        options={
            "color_button": "#0a7d32",
            "color_button_text": "#ffee00",
            "radius_border": "12px",
            "date_of_birth_mandatory": True,
            "phone_mandatory": True,
        }
    )
    session.page.set_viewport_size({"width": 320, "height": 700})
    session.identify("alva@example.com")
    session.step("address")
    frame = session.frame
    assert frame.locator("#date_of_birth").get_attribute("required") is not None
    assert frame.locator("#phone").get_attribute("required") is not None
    button = frame.locator("#address-button")
    style = button.evaluate(
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color,"
        " getComputedStyle(b).borderTopLeftRadius]"
    )
    assert style == ["rgb(10, 125, 50)", "rgb(255, 238, 0)", "12px"]
    overflow = frame.locator("body").evaluate(
        "b => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    # The iframe follows its content's height.
    body_height = frame.locator("body").evaluate("b => b.getBoundingClientRect().height")
    iframe_height = session.page.locator("#klarna-checkout-iframe").evaluate(
        "f => f.getBoundingClientRect().height"
    )
    assert abs(iframe_height - body_height) <= 2
    session.shot("address-320")


def test_a_minimal_confirmation(checkout: Open) -> None:
    session = checkout(gui={"options": ["minimal_confirmation"]})
    done = session.api("post", f"/_sandbox/orders/{session.order_id}/complete", json={})
    assert done.status_code == 200, done.text
    session.wait_event("load")
    session.events.clear()
    session.page.reload()
    heading = session.frame.locator("#confirmation-heading")
    heading.wait_for()
    assert heading.inner_text() == "Thank you for your order"
    assert session.frame.locator("#order-lines").count() == 0
    session.wait_event("load_confirmation")
    assert session.names() == ["load_confirmation"]
