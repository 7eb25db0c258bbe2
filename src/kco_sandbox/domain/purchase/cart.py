"""Pure rules of the shopper's purchase: carts from callbacks, mandatory fields, checkboxes,
shipping choices and URL placeholders (the order the merchant reads is `checkout.effective`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from kco_sandbox.domain.checkout.order import Address, CheckoutOrder, ShippingOption
from kco_sandbox.domain.checkout.session import Session
from kco_sandbox.domain.checkout.validation import check_order
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.market import Market
from kco_sandbox.domain.purchase.callback import CartUpdate


def apply_cart(
    order: CheckoutOrder,
    cart: CartUpdate,
    markets: Mapping[str, Market],
    allow_http_callbacks: bool,
) -> CheckoutOrder:
    """`order` with the cart a merchant's callback answered; the result must obey every rule."""
    changes: dict[str, Any] = {
        "order_amount": cart.order_amount,
        "order_tax_amount": cart.order_tax_amount,
        "order_lines": cart.order_lines,
        "purchase_currency": cart.purchase_currency.upper(),
    }
    for name in (
        "merchant_data",
        "shipping_options",
        "attachment",
        "locale",
        "external_payment_methods",
        "tags",
    ):
        value = getattr(cart, name)
        if value is not None:
            changes[name] = value
    updated = msgspec.structs.replace(order, **changes)
    check_order(updated, markets, allow_http_callbacks)
    return updated


def check_mandatory(order: CheckoutOrder, session: Session) -> None:
    """Raise `BadValue` for the first field the merchant's options make mandatory that is empty."""
    options = order.options
    billing = session.billing_address or Address()
    customer = session.customer
    if options is None:
        return
    if options.date_of_birth_mandatory and not (customer and customer.date_of_birth):
        raise BadValue("customer.date_of_birth", "mandatory")
    mandatory_nin = (
        options.national_identification_number_mandatory
        or options.verify_national_identification_number
    )
    if mandatory_nin and not session.national_identification_number:
        raise BadValue("customer.national_identification_number", "mandatory")
    if options.phone_mandatory and not billing.phone:
        raise BadValue("billing_address.phone", "mandatory")
    if options.title_mandatory and not billing.title:
        raise BadValue("billing_address.title", "mandatory")


def check_checkboxes(order: CheckoutOrder, checked: Mapping[str, bool]) -> None:
    """Every required checkbox must be ticked (the single one is keyed `additional_checkbox`)."""
    options = order.options
    if options is None:
        return
    single = options.additional_checkbox
    if single is not None and single.required and not checked.get("additional_checkbox", False):
        raise BadValue("options.additional_checkbox", "required")
    for box in options.additional_checkboxes or []:
        if box.required and not checked.get(box.id, False):
            raise BadValue(f"options.additional_checkboxes.{box.id}", "required")


def checkbox_states(order: CheckoutOrder, checked: Mapping[str, bool]) -> dict[str, bool]:
    """Each configured checkbox's final state: what the shopper set, else its default."""
    options = order.options
    states: dict[str, bool] = {}
    if options is None:
        return states
    if options.additional_checkbox is not None:
        states["additional_checkbox"] = checked.get(
            "additional_checkbox", options.additional_checkbox.checked
        )
    for box in options.additional_checkboxes or []:
        states[box.id] = checked.get(box.id, box.checked)
    return states


def merchant_requested(order: CheckoutOrder, states: Mapping[str, bool]) -> dict[str, Any] | None:
    """The `merchant_requested` object: present only when checkboxes were configured."""
    options = order.options
    if options is None:
        return None
    requested: dict[str, Any] = {}
    if options.additional_checkbox is not None:
        requested["additional_checkbox"] = states.get("additional_checkbox", False)
    if options.additional_checkboxes:
        requested["additional_checkboxes"] = [
            {"id": box.id, "checked": states.get(box.id, False)}
            for box in options.additional_checkboxes
        ]
    return requested or None


def choose_option(order: CheckoutOrder, option_id: str | None) -> ShippingOption | None:
    """The option with `option_id`, else the preselected one, else the first; None if none."""
    options = order.shipping_options or []
    if option_id is not None:
        for option in options:
            if option.id == option_id:
                return option
        raise BadValue("shipping_option_id", "no such shipping option")
    preselected = [option for option in options if option.preselected]
    candidates = preselected or options
    return candidates[0] if candidates else None


def expand_url(url: str, order_id: str, order_url: str) -> str:
    """A merchant URL with the vendor's placeholders filled in."""
    return (
        url.replace("{checkout.order.id}", order_id)
        .replace("{checkout.order.url}", order_url)
        .replace("{checkout.order.uri}", order_url)
    )
