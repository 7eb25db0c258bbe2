"""Opening the Order Management order when a checkout completes (same id, same amounts)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from kco_sandbox.domain.checkout.order import Address
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.order_management.lifecycle import AUTHORIZATION_LIFETIME
from kco_sandbox.domain.order_management.order import CaptureRequest, OmAddress, OmLine, OmOrder
from kco_sandbox.domain.order_management.rules import capture

# The payment method the shopper chose, as Order Management names it.
PAYMENT_METHODS: Final[dict[str, dict[str, str | int]]] = {
    "invoice": {"type": "INVOICE", "description": "Pay later"},
    "card": {"type": "CARD", "description": "Card"},
    "part_payment": {
        "type": "PAY_LATER_IN_PARTS",
        "description": "Pay in 3 interest-free instalments",
        "number_of_installments": 3,
    },
    "direct_debit": {"type": "DIRECT_DEBIT", "description": "Direct debit"},
}


def om_address(address: Address | None) -> OmAddress | None:
    if address is None:
        return None
    street = address.street_address
    if street is None and address.street_name:
        street = " ".join(p for p in (address.street_name, address.street_number) if p)
    return OmAddress(
        given_name=address.given_name,
        family_name=address.family_name,
        title=address.title,
        street_address=street,
        street_address2=address.street_address2,
        postal_code=address.postal_code,
        city=address.city,
        region=address.region,
        country=(address.country or "").upper() or None,
        email=address.email,
        phone=address.phone,
        organization_name=address.organization_name,
        attention=address.attention,
    )


def open_order(
    record: CheckoutRecord, klarna_reference: str, now: datetime, capture_id: str
) -> OmOrder:
    """The order a completed checkout opens; with `auto_capture`, a full capture, counted in the
    order's totals and carried as its `opening_capture`."""
    order = record.order
    session = record.session
    customer: dict[str, str] = {"type": "person"}
    if order.customer and order.customer.type:
        customer["type"] = order.customer.type
    if order.customer and order.customer.date_of_birth:
        customer["date_of_birth"] = order.customer.date_of_birth
    if session.national_identification_number:
        customer["national_identification_number"] = session.national_identification_number
    opened = OmOrder(
        order_id=record.order_id,
        merchant_id=record.merchant_id,
        klarna_reference=klarna_reference,
        purchase_country=order.purchase_country.upper(),
        purchase_currency=order.purchase_currency.upper(),
        locale=order.locale,
        order_amount=order.order_amount,
        original_order_amount=order.order_amount,
        order_lines=msgspec.convert(msgspec.to_builtins(order.order_lines), list[OmLine]),
        created_at=now,
        expires_at=now + AUTHORIZATION_LIFETIME,
        fraud_status=session.fraud_status or "ACCEPTED",
        pending_decision=session.pending_decision,
        decision_due_at=session.decision_due_at,
        merchant_reference1=order.merchant_reference1,
        merchant_reference2=order.merchant_reference2,
        merchant_data=order.merchant_data,
        customer=customer,
        billing_address=om_address(order.billing_address),
        shipping_address=om_address(order.shipping_address),
        initial_payment_method=PAYMENT_METHODS.get(session.payment_method or "invoice", {}),
        selected_shipping_option=session.selected_shipping_option,
    )
    auto_capture = bool(order.options and order.options.auto_capture)
    if auto_capture and opened.fraud_status == "ACCEPTED" and opened.order_amount > 0:
        opened, made = capture(
            opened,
            CaptureRequest(captured_amount=opened.order_amount, order_lines=opened.order_lines),
            capture_id,
            now,
        )
        # Opened in the purchase's own transaction (`Orders.open_on`), which writes it.
        opened = msgspec.structs.replace(opened, opening_capture=made)
    return opened
