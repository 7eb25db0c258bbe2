"""The hosted checkout page in the shopper's language, in a real browser: a purchase in each of
the seven languages with a catalogue, the test person lookup, the review before Buy and the
confirmation, and an organization's purchase.

Uses the merchant page, shop server and browser of `test_checkout_page`. The texts checked are
the catalogue's (`text_for`), so a translation may change without breaking a test, but a screen
left in English in another language does not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kco_sandbox.domain.purchase.sample import SAMPLE_PERSONS
from kco_sandbox.web.checkout_page.i18n import Text, text_for
from tests.e2e import test_checkout_page as base
from tests.e2e.test_checkout_page import SHIPPING, Checkout, Shop

# The fixtures of the checkout-page tests, shared by name.
browser = base.browser
checkout = base.checkout
shop = base.shop
shots = base.shots

Open = Callable[..., Checkout]

# (locale, country, currency): each language in a market of its own.
MARKETS = [
    ("en-GB", "GB", "GBP"),
    ("sv-SE", "SE", "SEK"),
    ("de-DE", "DE", "EUR"),
    ("nb-NO", "NO", "NOK"),
    ("fi-FI", "FI", "EUR"),
    ("da-DK", "DK", "DKK"),
    ("nl-NL", "NL", "EUR"),
]


def text(session: Checkout, selector: str) -> str:
    found: str = session.frame.locator(selector).inner_text()
    return found.strip()


def value(session: Checkout, selector: str) -> str:
    found: str = session.frame.locator(selector).input_value()
    return found


def heading(session: Checkout) -> str:
    return text(session, "main h1")


@pytest.mark.parametrize(("locale", "country", "currency"), MARKETS)
def test_a_purchase_in_the_shoppers_language(
    checkout: Open, shop: Shop, locale: str, country: str, currency: str
) -> None:
    t = text_for(locale)
    person = SAMPLE_PERSONS[country]
    session = checkout(
        purchase_country=country,
        purchase_currency=currency,
        locale=locale,
        shipping_options=SHIPPING,
    )
    session.step("identify")
    assert session.frame.locator("html").get_attribute("lang") == t.language
    assert heading(session) == t("Your details")
    assert text(session, "#identify-button") == t("Continue")
    session.identify(person.email, person.postal_code)

    # The test person lookup filled the address in; the country is named in the language.
    session.step("address")
    assert heading(session) == t("Address")
    assert text(session, "#lookup-notice") == t("We found your address. Check it and continue.")
    assert value(session, "#given_name") == person.address["given_name"]
    assert value(session, "#city") == person.address["city"]
    picked = session.frame.locator("#country option:checked").inner_text()
    assert picked == t.country(country)
    session.frame.locator("#address-button").click()

    session.step("shipping")
    assert heading(session) == t("Delivery")
    assert text(session, "label[for=shipping-option-0] .option-aside") == t("Free")
    session.frame.locator("#shipping-option-1").check()
    session.frame.locator("#shipping-button").click()

    session.step("payment")
    assert heading(session) == t("Payment")
    assert text(session, "label[for=payment-method-invoice] .option-title") == t("Pay later")
    assert text(session, "#cart-total") == t.money(50000 + 4900, currency)
    session.pay("invoice")

    assert heading(session) == t("Review and buy")
    assert text(session, "#review-email .value") == person.email
    assert text(session, "#chosen-method") == t("Pay later")
    assert text(session, "#change-address") == t("Change")
    assert text(session, "#buy-button") == t("Buy")
    session.buy()

    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")
    session.frame.locator("#confirmation-heading").wait_for()
    name = f"{person.address['given_name']} {person.address['family_name']}"
    assert text(session, "#confirmation-heading") == t("Thank you, %(name)s!", name=name)
    assert text(session, "#confirmation-order-id") == session.order_id
    assert text(session, "#confirmation-payment-method") == t("Pay later")
    assert text(session, "#confirmation-shipping") == "Home delivery"
    assert person.address["city"] in text(session, "#confirmation-address")
    order = session.read()
    assert order["status"] == "checkout_complete"
    assert order["billing_address"]["given_name"] == person.address["given_name"]
    assert order["billing_address"]["postal_code"] == person.postal_code
    assert order["order_amount"] == 50000 + 4900


def test_other_inputs_leave_the_address_empty(checkout: Open) -> None:
    session = checkout()
    session.identify("someone@example.com", "12345")
    session.step("address")
    assert session.frame.locator("#lookup-notice").count() == 0
    assert value(session, "#given_name") == ""
    assert value(session, "#postal_code") == "12345"  # what the shopper gave is kept


def test_a_sample_person_with_a_persona_tag_is_looked_up_too(checkout: Open) -> None:
    session = checkout(locale="sv-SE")
    session.identify("customer+require_signup@email.se", "12345")
    session.step("address")
    assert value(session, "#street_address") == "Stårgatan 1"
    assert value(session, "#national_identification_number") == "410321-9202"
    assert value(session, "#date_of_birth") == "1941-03-21"
    session.frame.locator("#address-button").click()
    session.pay()
    session.buy()
    session.step("signup")
    t = text_for("sv-SE")
    hint = text(session, "#otp-hint")
    assert "123456" in hint
    assert hint.startswith("TEST DRIVE")
    assert text(session, "#signup-button") == t("Confirm and buy")


def test_the_review_changes_the_address_and_comes_back(checkout: Open, shop: Shop) -> None:
    session = checkout(options={"allow_separate_shipping_address": True})
    session.identify("alva@example.com", "11122")
    session.address(street_address="Storgatan 2", postal_code="11122")
    session.pay("card")
    assert "Storgatan 2" in text(session, "#review-billing")
    session.frame.locator("#change-address").click()
    session.step("address")
    assert value(session, "#street_address") == "Storgatan 2"
    session.frame.locator("#street_address").fill("Storgatan 3")
    session.frame.locator("#address-button").click()
    session.pay("card")
    assert "Storgatan 3" in text(session, "#review-billing")
    assert text(session, "#chosen-method") == "Card"
    session.buy()
    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")
    assert session.read()["billing_address"]["street_address"] == "Storgatan 3"


def test_an_organization_buys_with_its_registration_id(checkout: Open, shop: Shop) -> None:
    t = text_for("sv-SE")
    session = checkout(
        locale="sv-SE", options={"allowed_customer_types": ["organization", "person"]}
    )
    session.step("identify")
    assert text(session, "#customer-type legend") == t("I am buying as")
    assert session.frame.locator("#customer_type__organization").is_checked()
    session.identify("buyer@firm.example", "11122")
    session.step("address")
    assert session.wait_event("customer") == {"type": "organization"}
    assert text(session, "#organization-details legend") == t("Organization")
    session.address(organization_name="Firma AB", organization_registration_id="556737-0431")
    session.pay()
    assert text(session, "#review-organization .value") == "556737-0431"
    assert "Firma AB" in text(session, "#review-billing")
    session.buy()
    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")
    order = session.read()
    assert order["status"] == "checkout_complete"
    assert order["customer"]["type"] == "organization"
    assert order["customer"]["organization_registration_id"] == "556737-0431"
    assert order["billing_address"]["organization_name"] == "Firma AB"


def test_a_denied_shopper_is_told_that_the_e_mail_decides(checkout: Open) -> None:
    t: Text = text_for("de-DE")
    session = checkout(purchase_country="DE", purchase_currency="EUR", locale="de-DE")
    person = SAMPLE_PERSONS["DE"]
    session.identify("customer+denied@email.de", person.postal_code)
    session.step("address")
    session.frame.locator("#address-button").click()
    session.pay()
    session.buy()
    denied = session.frame.locator("#purchase-denied")
    denied.wait_for()
    assert t("We could not approve this purchase.") in denied.inner_text()
    assert text(session, "#use-another-email") == t("Use another e-mail address")
    # The TEST DRIVE panel lists the tricks, collapsed until opened.
    panel: Any = session.frame.locator("#testdrive-panel")
    assert not panel.locator("#testdrive-personas").is_visible()
    panel.locator("summary").click()
    assert "name+denied@example.com" in panel.inner_text()
    assert text(session, "#testdrive-sample-email") == "customer@email.de"
