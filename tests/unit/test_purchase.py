from __future__ import annotations

from typing import Any

import msgspec
import pytest

from kco_sandbox.domain.checkout.effective import (
    effective_order,
    shipping_line,
    without_platform_line,
)
from kco_sandbox.domain.checkout.order import (
    Address,
    CheckoutOrder,
    Customer,
    OrderLine,
    ShippingOption,
)
from kco_sandbox.domain.checkout.session import Session
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.domain.purchase.callback import CartUpdate
from kco_sandbox.domain.purchase.cart import (
    apply_cart,
    check_checkboxes,
    check_mandatory,
    checkbox_states,
    choose_option,
    expand_url,
    merchant_requested,
)
from kco_sandbox.domain.purchase.persona import Outcome, one_time_code_passes, persona_for
from tests.factories import make_line, make_order

HOME = ShippingOption(id="home", name="Home", price=4900, tax_amount=980, tax_rate=2500)


def order(**overrides: Any) -> CheckoutOrder:
    return msgspec.convert(make_order(**overrides), CheckoutOrder)


def test_the_shipping_line_carries_the_option_price_and_tax() -> None:
    line = shipping_line(HOME)
    assert (line.type, line.reference, line.name) == ("shipping_fee", "home", "Home")
    assert (line.quantity, line.unit_price, line.total_amount, line.total_tax_amount) == (
        1,
        4900,
        4900,
        980,
    )


def test_the_effective_order_adds_the_platform_priced_option() -> None:
    base = order()
    session = Session(selected_shipping_option=HOME, platform_shipping=True)
    seen = effective_order(base, session)
    assert seen.order_amount == base.order_amount + 4900
    assert seen.order_tax_amount == base.order_tax_amount + 980
    assert seen.order_lines[-1] == shipping_line(HOME)
    # When the merchant prices shipping (through its callback) nothing is added.
    assert effective_order(base, Session(selected_shipping_option=HOME)) == base


def test_a_read_order_sent_back_loses_the_platform_line_again() -> None:
    session = Session(selected_shipping_option=HOME, platform_shipping=True)
    seen = effective_order(order(), session)
    assert without_platform_line(seen, session) == order()
    assert without_platform_line(order(), session) == order()


def test_shopper_addresses_win_over_the_prefill() -> None:
    base = order(billing_address={"email": "prefill@example.com"})
    typed = Address(given_name="A", email="typed@example.com", country="se")
    seen = effective_order(base, Session(billing_address=typed, customer=Customer(type="person")))
    assert seen.billing_address == typed
    assert seen.customer == Customer(type="person")


def test_a_cart_from_a_callback_replaces_amounts_and_lines_and_must_add_up() -> None:
    two = [make_line(), make_line()]
    cart = CartUpdate(
        order_amount=100000,
        order_tax_amount=9090,
        order_lines=msgspec.convert(two, list[OrderLine]),
        purchase_currency="sek",
        locale="en-SE",
    )
    updated = apply_cart(order(), cart, VENDOR_MARKETS, True)
    assert (updated.order_amount, len(updated.order_lines), updated.purchase_currency) == (
        100000,
        2,
        "SEK",
    )
    wrong = msgspec.structs.replace(cart, order_amount=1)
    with pytest.raises(BadValue, match="order_amount"):
        apply_cart(order(), wrong, VENDOR_MARKETS, True)
    euro = msgspec.structs.replace(cart, purchase_currency="EUR")
    with pytest.raises(BadValue, match="purchase_currency"):
        apply_cart(order(), euro, VENDOR_MARKETS, True)


def test_options_choice_prefers_the_asked_then_the_preselected_then_the_first() -> None:
    options = [
        {"id": "a", "name": "A", "price": 0, "tax_amount": 0, "tax_rate": 0},
        {"id": "b", "name": "B", "price": 0, "tax_amount": 0, "tax_rate": 0, "preselected": True},
    ]
    with_options = order(shipping_options=options)
    assert choose_option(with_options, "a").id == "a"  # type: ignore[union-attr]
    assert choose_option(with_options, None).id == "b"  # type: ignore[union-attr]
    assert choose_option(order(shipping_options=options[:1]), None).id == "a"  # type: ignore[union-attr]
    assert choose_option(order(), None) is None
    with pytest.raises(BadValue):
        choose_option(with_options, "zz")


@pytest.mark.parametrize(
    ("options", "session", "path"),
    [
        ({"date_of_birth_mandatory": True}, Session(), "customer.date_of_birth"),
        (
            {"national_identification_number_mandatory": True},
            Session(),
            "customer.national_identification_number",
        ),
        (
            {"verify_national_identification_number": True},
            Session(),
            "customer.national_identification_number",
        ),
        ({"phone_mandatory": True}, Session(billing_address=Address()), "billing_address.phone"),
        ({"title_mandatory": True}, Session(billing_address=Address()), "billing_address.title"),
    ],
)
def test_mandatory_fields(options: dict[str, bool], session: Session, path: str) -> None:
    with pytest.raises(BadValue) as info:
        check_mandatory(order(options=options), session)
    assert info.value.messages == [f"Bad value: {path} (mandatory)"]


def test_filled_mandatory_fields_pass() -> None:
    filled = Session(
        billing_address=Address(phone="+46", title="Mr"),
        customer=Customer(date_of_birth="1990-01-01"),
        national_identification_number="410321-9202",
    )
    everything = {
        "date_of_birth_mandatory": True,
        "national_identification_number_mandatory": True,
        "phone_mandatory": True,
        "title_mandatory": True,
    }
    check_mandatory(order(options=everything), filled)


def test_checkboxes_required_defaults_and_merchant_requested() -> None:
    boxed = order(
        options={
            "additional_checkbox": {"text": "Newsletter", "checked": True, "required": False},
            "additional_checkboxes": [{"id": "t", "text": "T", "checked": False, "required": True}],
        }
    )
    with pytest.raises(BadValue, match=r"additional_checkboxes\.t"):
        check_checkboxes(boxed, {})
    check_checkboxes(boxed, {"t": True})
    states = checkbox_states(boxed, {"t": True})
    assert states == {"additional_checkbox": True, "t": True}
    assert merchant_requested(boxed, states) == {
        "additional_checkbox": True,
        "additional_checkboxes": [{"id": "t", "checked": True}],
    }
    assert merchant_requested(order(), {}) is None


def test_placeholders_are_expanded() -> None:
    url = "https://s/c?id={checkout.order.id}&u={checkout.order.url}&r={checkout.order.uri}"
    assert (
        expand_url(url, "42", "https://k/o/42")
        == "https://s/c?id=42&u=https://k/o/42&r=https://k/o/42"
    )


@pytest.mark.parametrize(
    ("email", "outcome", "minutes"),
    [
        ("anna@example.com", Outcome.APPROVED, None),
        ("anna+denied@example.com", Outcome.DENIED, None),
        ("anna+require_signup@example.se", Outcome.REQUIRE_SIGNUP, None),
        ("anna+pend-accept-05@example.com", Outcome.PENDING_ACCEPT, 5),
        ("anna+pend-reject-30@example.com", Outcome.PENDING_REJECT, 30),
        ("anna+pend-accept-5@example.com", Outcome.APPROVED, None),  # two digits, as the vendor's
        ("anna+newsletter@example.com", Outcome.APPROVED, None),
    ],
)
def test_personas(email: str, outcome: Outcome, minutes: int | None) -> None:
    persona = persona_for(email)
    assert persona.outcome is outcome
    decision = persona.decision_after
    assert (decision.total_seconds() / 60 if decision else None) == minutes


@pytest.mark.parametrize(
    ("code", "ok"),
    [("123456", True), ("000000", True), ("999999", False), ("12345", False), ("12345a", False)],
)
def test_one_time_codes(code: str, ok: bool) -> None:
    assert one_time_code_passes(code) is ok
