"""Screenshots of every step of the hosted checkout page, for docs/checkout-page.md.

English and Swedish, on a desktop and on a 360 px phone, the checkout embedded in an example
shop's page; then the TEST DRIVE panel, a denial, the sign-up step and an organization's address.
The pictures go to `$KCO_SANDBOX_SCREENSHOTS` (the documentation's, `docs/images`) when it is
set, else to the test's temporary folder, so an ordinary run never rewrites the repository. Each
screen is also checked to fit its width (no sideways scrolling) and to have no script errors.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e import test_checkout_page as base
from tests.e2e.test_checkout_page import SHIPPING, Checkout, Shop

# The fixtures of the checkout-page tests, shared by name.
browser = base.browser
checkout = base.checkout
shop = base.shop
shots = base.shots

Open = Callable[..., Checkout]
SIZES = {"desktop": (1024, 768), "360": (360, 740)}
# An example shop around the checkout, as a merchant's checkout page would be.
SHOP_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Example shop</title>
<style>
body{{margin:0;font-family:system-ui,sans-serif;background:#f3f3f1;color:#222}}
header{{background:#1f2328;color:#fff;padding:14px 20px;font-weight:700}}
main{{max-width:620px;margin:0 auto;padding:16px 12px}}
h1{{font-size:1.3rem;margin:4px 4px 12px}}
.frame{{background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}}
</style></head>
<body><header>Example shop</header><main><h1>{title}</h1>
<div class="frame">{snippet}</div></main></body></html>"""
TITLES = {"en": "Checkout", "sv": "Kassa"}


def embed_in_shop(session: Checkout, shop: Shop, lang: str) -> None:
    """Show the session's checkout inside the example shop's page instead of the bare one."""

    def render(query: dict[str, list[str]]) -> str:
        snippet = session.read()["html_snippet"]
        return SHOP_PAGE.format(lang=lang, title=TITLES[lang], snippet=snippet)

    shop.pages["/checkout"] = render
    shop.pages["/confirmation"] = render
    session.page.goto(shop.url + "/checkout")


def settle(session: Checkout) -> None:
    """Wait until the iframe has taken its content's height."""
    iframe = session.page.locator("#klarna-checkout-iframe")
    for _ in range(60):
        body = session.frame.locator("body").evaluate("b => b.getBoundingClientRect().height")
        frame = iframe.evaluate("f => f.getBoundingClientRect().height")
        if abs(body - frame) <= 2:
            return
        session.page.wait_for_timeout(50)
    raise AssertionError("the iframe did not take its content's height")


def fits(session: Checkout) -> bool:
    page_overflow: int = session.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    frame_overflow: int = session.frame.locator("body").evaluate(
        "b => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return page_overflow <= 0 and frame_overflow <= 0


def snap(session: Checkout, folder: Path, name: str) -> None:
    # No focus ring on the field typed in last: the picture shows the screen as it reads.
    session.frame.locator("body").evaluate("b => document.activeElement.blur()")
    settle(session)
    assert fits(session), name
    session.page.screenshot(path=str(folder / f"checkout-{name}.png"), full_page=True)


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize(("lang", "locale"), [("en", "en-GB"), ("sv", "sv-SE")])
def test_screens_of_a_purchase(
    checkout: Open, shop: Shop, shots: Path, lang: str, locale: str, size: str
) -> None:
    country = "GB" if lang == "en" else "SE"
    session = checkout(
        purchase_country=country,
        purchase_currency="GBP" if lang == "en" else "SEK",
        locale=locale,
        shipping_options=SHIPPING,
        options={
            "additional_checkbox": {
                "text": "Send me news" if lang == "en" else "Skicka nyheter till mig",
                "checked": False,
                "required": False,
            }
        },
    )
    width, height = SIZES[size]
    session.page.set_viewport_size({"width": width, "height": height})
    embed_in_shop(session, shop, lang)
    prefix = f"{lang}-{size}"
    session.step("identify")
    email = "customer@email.uk" if lang == "en" else "customer@email.se"
    session.frame.locator("#email").fill(email)
    session.frame.locator("#postal_code").fill("SW1A 2AA" if lang == "en" else "12345")
    snap(session, shots, f"{prefix}-1-identify")
    session.frame.locator("#identify-button").click()
    session.step("address")
    snap(session, shots, f"{prefix}-2-address")
    session.frame.locator("#address-button").click()
    session.step("shipping")
    session.frame.locator("#shipping-option-1").check()
    snap(session, shots, f"{prefix}-3-shipping")
    session.frame.locator("#shipping-button").click()
    session.step("payment")
    session.frame.locator("#payment-method-card").check()
    snap(session, shots, f"{prefix}-4-payment")
    session.frame.locator("#payment-button").click()
    session.step("summary")
    snap(session, shots, f"{prefix}-5-review")
    session.frame.locator("#buy-button").click()
    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")
    session.frame.locator("#confirmation-heading").wait_for()
    snap(session, shots, f"{prefix}-6-confirmation")
    assert session.read()["status"] == "checkout_complete"


def test_screens_of_test_drive_help(checkout: Open, shop: Shop, shots: Path) -> None:
    session = checkout(
        shipping_options=SHIPPING,
        options={"allowed_customer_types": ["person", "organization"]},
    )
    session.page.set_viewport_size({"width": 360, "height": 740})
    embed_in_shop(session, shop, "en")
    session.step("identify")
    session.frame.locator("#testdrive-panel summary").click()
    snap(session, shots, "en-360-testdrive")
    session.frame.locator("#testdrive-panel summary").click()
    session.frame.locator("#customer_type__organization").check()
    session.frame.locator("#email").fill("anna+denied@example.com")
    session.frame.locator("#postal_code").fill("11122")
    session.frame.locator("#identify-button").click()
    session.step("address")
    for name, value in {
        "organization_name": "Firm AB",
        "organization_registration_id": "556737-0431",
        "given_name": "Anna",
        "family_name": "Berg",
        "street_address": "Storgatan 2",
        "city": "Stockholm",
    }.items():
        session.frame.locator(f"#{name}").fill(value)
    snap(session, shots, "en-360-organization")
    buy_from_address(session)
    session.frame.locator("#purchase-denied").wait_for()
    snap(session, shots, "en-360-denied")
    session.frame.locator("#use-another-email").click()
    session.step("identify")
    session.frame.locator("#email").fill("anna+require_signup@example.com")
    session.frame.locator("#identify-button").click()
    session.step("address")
    buy_from_address(session)
    session.step("signup")
    session.frame.locator("#otp").fill("123456")
    snap(session, shots, "en-360-signup")


def buy_from_address(session: Checkout) -> None:
    """From the address step on: the preselected delivery, pay later, Buy."""
    session.frame.locator("#address-button").click()
    session.step("shipping")
    session.frame.locator("#shipping-button").click()
    session.step("payment")
    session.frame.locator("#payment-method-invoice").check()
    session.frame.locator("#payment-button").click()
    session.step("summary")
    session.frame.locator("#buy-button").click()
