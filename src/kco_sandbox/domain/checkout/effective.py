"""The order as the merchant reads it (`effective_order`): its own document with the shopper's
addresses and customer laid over the prefill, and, when the platform prices shipping itself
(shipping options given and no `shipping_option_update` URL), a `shipping_fee` line for the chosen
option added to the lines and the amounts.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kco_sandbox.domain.checkout.order import CheckoutOrder, OrderLine, ShippingOption
from kco_sandbox.domain.checkout.session import Session

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
