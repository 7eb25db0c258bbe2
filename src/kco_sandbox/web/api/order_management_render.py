"""Order Management orders, captures and refunds as the vendor answers them.

Key order and the empty-string defaults of address and line fields follow the recorded
playground answers; country codes are upper case in Order Management.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import msgspec

from kco_sandbox.domain.checkout.order import ShippingOption
from kco_sandbox.domain.order_management import lifecycle
from kco_sandbox.domain.order_management.order import (
    Capture,
    OmAddress,
    OmLine,
    OmOrderView,
    Refund,
)
from kco_sandbox.domain.order_management.rules import DueDateOptions

ADDRESS_DEFAULTS: Final = (
    "given_name",
    "family_name",
    "title",
    "street_address",
    "street_address2",
    "postal_code",
    "city",
    "region",
    "country",
    "email",
    "phone",
)


def om_time(value: datetime) -> str:
    """`2020-08-21T08:47:39.878Z`: UTC with milliseconds, as Order Management writes times."""
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def render_line(line: OmLine) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if line.reference is not None:
        out["reference"] = line.reference
    if line.type is not None:
        out["type"] = line.type
    out |= {
        "quantity": line.quantity,
        "quantity_unit": line.quantity_unit or "",
        "name": line.name,
        "total_amount": line.total_amount,
        "unit_price": line.unit_price,
        "total_discount_amount": line.total_discount_amount or 0,
        "tax_rate": line.tax_rate or 0,
        "total_tax_amount": line.total_tax_amount or 0,
    }
    extra = msgspec.to_builtins(line)
    out |= {k: v for k, v in extra.items() if k not in out}
    return out


def render_address(address: OmAddress | None) -> dict[str, Any]:
    values = msgspec.to_builtins(address) if address is not None else {}
    out = {name: values.pop(name, "") for name in ADDRESS_DEFAULTS}
    return out | values


def render_capture(capture: Capture) -> dict[str, Any]:
    out: dict[str, Any] = {
        "capture_id": capture.capture_id,
        "klarna_reference": capture.klarna_reference,
        "captured_amount": capture.captured_amount,
        "captured_at": om_time(capture.captured_at),
        "description": capture.description,
        "order_lines": [render_line(line) for line in capture.order_lines],
        "refunded_amount": 0,
        "billing_address": render_address(capture.billing_address),
        "shipping_address": render_address(capture.shipping_address),
        "shipping_info": msgspec.to_builtins(capture.shipping_info),
    }
    if capture.reference is not None:
        out["reference"] = capture.reference
    return out


def render_refund(refund: Refund) -> dict[str, Any]:
    out: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "refunded_amount": refund.refunded_amount,
        "refunded_at": om_time(refund.refunded_at),
        "description": refund.description,
        "order_lines": [render_line(line) for line in refund.order_lines],
    }
    if refund.reference is not None:
        out["reference"] = refund.reference
    return out


def render_captures(captures: Sequence[Capture]) -> list[dict[str, Any]]:
    # Refunds are not attributed to captures: the vendor's playground answers a fully refunded
    # capture with `refunded_amount: 0` (recorded).
    return [render_capture(c) for c in captures]


def render_due_date_options(offered: DueDateOptions) -> dict[str, Any]:
    options = [{"number_of_days": d, "amount": a} for d, a in offered.options]
    return {"currency": offered.currency, "options": options}


def render_om_order(view: OmOrderView, now: datetime) -> dict[str, Any]:
    order = view.order
    out: dict[str, Any] = {
        "order_id": order.order_id,
        "status": lifecycle.status(order, now).value,
        "fraud_status": lifecycle.fraud_status(order, now).value,
        "order_amount": order.order_amount,
        "original_order_amount": order.original_order_amount,
        "captured_amount": lifecycle.captured_amount(order),
        "refunded_amount": lifecycle.refunded_amount(order),
        "remaining_authorized_amount": lifecycle.remaining_authorized_amount(order, now),
        "purchase_currency": order.purchase_currency,
        "locale": order.locale,
        "order_lines": [render_line(line) for line in order.order_lines],
        "klarna_reference": order.klarna_reference,
        "customer": dict(order.customer),
        "billing_address": render_address(order.billing_address),
        "shipping_address": render_address(order.shipping_address),
        "created_at": om_time(order.created_at),
        "purchase_country": order.purchase_country,
        "expires_at": om_time(order.expires_at),
        "captures": render_captures(view.captures),
        "refunds": [render_refund(r) for r in view.refunds],
        "initial_payment_method": dict(order.initial_payment_method),
    }
    for name in ("merchant_reference1", "merchant_reference2", "merchant_data"):
        value = getattr(order, name)
        if value is not None:
            out[name] = value
    if order.shipping_info:
        out["shipping_info"] = msgspec.to_builtins(order.shipping_info)
    if order.selected_shipping_option is not None:
        out["selected_shipping_option"] = render_shipping_option(order.selected_shipping_option)
    return out


def render_shipping_option(option: ShippingOption) -> dict[str, Any]:
    """The chosen option in Order Management's `SelectedShippingOptionDto` shape."""
    out: dict[str, Any] = {"id": option.id, "name": option.name}
    details = option.delivery_details
    if details is not None and details.carrier is not None:
        out["carrier"] = details.carrier
    if details is not None and details.product is not None:
        out["carrier_product"] = msgspec.to_builtins(details.product)
    if details is not None and details.class_ is not None:
        out["class"] = details.class_
    if option.shipping_method is not None:
        out["method"] = option.shipping_method
    out |= {"price": option.price, "tax_amount": option.tax_amount, "tax_rate": option.tax_rate}
    if option.tms_reference is not None:
        out["tms_reference"] = option.tms_reference
    if details is not None and details.timeslot is not None:
        out["timeslot"] = msgspec.to_builtins(details.timeslot)
    if details is not None and details.pickup_location is not None:
        location = details.pickup_location
        out["location"] = {
            key: value
            for key, value in (("id", location.id), ("name", location.name))
            if value is not None
        }
    if option.selected_addons:
        out["selected_addons"] = msgspec.to_builtins(option.selected_addons)
    return out
