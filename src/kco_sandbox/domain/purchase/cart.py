"""Pure rules of the shopper's purchase: shipping fees, carts from callbacks, mandatory fields.

The order a merchant reads is `effective_order`: its own document with the shopper's addresses
and customer laid over the prefill, and, when the platform prices shipping itself (shipping
options given and no `shipping_option_update` URL), a `shipping_fee` line for the chosen option
added to the lines and the amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from kco_sandbox.domain.checkout.order import Address, CheckoutOrder, OrderLine, ShippingOption
from kco_sandbox.domain.checkout.validation import check_order
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.market import Market
from kco_sandbox.domain.purchase.callback import CartUpdate
from kco_sandbox.domain.purchase.session import Session

SHIPPING_FEE = "shipping_fee"


def shipping_line(option: ShippingOption) -> OrderLine:
    """The line the platform adds for a chosen shipping option it prices itself."""
    return OrderLine(
        type=SHIPPING_FEE,
        reference=option.id,
        name=option.name,
        quantity=1,
        unit_price=option.price,
        tax_rate=option.tax_rate,
        total_amount=option.price,
        total_discount_amount=0,
        total_tax_amount=option.tax_amount,
    )


def without_platform_line(order: CheckoutOrder, session: Session) -> CheckoutOrder:
    """`order` without the platform's shipping line, if a client sent a read order back."""
    option = session.selected_shipping_option
    if not session.platform_shipping or option is None:
        return order
    ours = shipping_line(option)
    lines = [line for line in order.order_lines if line != ours]
    if len(lines) == len(order.order_lines):
        return order
    return msgspec.structs.replace(
        order,
        order_lines=lines,
        order_amount=order.order_amount - ours.total_amount,
        order_tax_amount=order.order_tax_amount - ours.total_tax_amount,
    )


def effective_order(order: CheckoutOrder, session: Session) -> CheckoutOrder:
    """The order as the merchant reads it: its document plus what the shopper did."""
    changes: dict[str, Any] = {}
    for name in ("billing_address", "shipping_address", "customer"):
        value = getattr(session, name)
        if value is not None:
            changes[name] = value
    option = session.selected_shipping_option
    if session.platform_shipping and option is not None:
        line = shipping_line(option)
        changes["order_lines"] = [*order.order_lines, line]
        changes["order_amount"] = order.order_amount + line.total_amount
        changes["order_tax_amount"] = order.order_tax_amount + line.total_tax_amount
    return msgspec.structs.replace(order, **changes) if changes else order


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
