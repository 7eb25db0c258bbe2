"""Checkout orders as the vendor answers them.

Key order and defaults follow the recorded playground answers: addresses hold at least the
purchase country, `customer` is an object, `options` come back with their defaults filled, and
the two external-method arrays are always present.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from msgspec import to_builtins

from kco_sandbox.domain.checkout.effective import effective_order
from kco_sandbox.domain.checkout.lifecycle import WIRE_STATUS
from kco_sandbox.domain.checkout.record import CheckoutRecord, as_document
from kco_sandbox.domain.purchase.cart import checkbox_states, merchant_requested
from kco_sandbox.web.api.snippet import render_snippet

OPTION_DEFAULTS: Final[dict[str, bool]] = {
    "allow_separate_shipping_address": False,
    "date_of_birth_mandatory": False,
    "require_validate_callback_success": False,
}


def timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_order(record: CheckoutRecord, base_url: str, merchant_name: str) -> dict[str, Any]:
    session = record.session
    doc = as_document(effective_order(record.order, session))
    country = doc.pop("purchase_country")
    out: dict[str, Any] = {
        "order_id": record.order_id,
        "name": merchant_name,
        "status": WIRE_STATUS[record.status],
        "purchase_country": country,
        "purchase_currency": doc.pop("purchase_currency"),
        "locale": doc.pop("locale"),
        "billing_address": {"country": country, **doc.pop("billing_address", {})},
        "customer": doc.pop("customer", {}),
        "shipping_address": {"country": country, **doc.pop("shipping_address", {})},
        "order_amount": doc.pop("order_amount"),
        "order_tax_amount": doc.pop("order_tax_amount"),
        "order_lines": doc.pop("order_lines"),
        "merchant_urls": doc.pop("merchant_urls"),
        "html_snippet": render_snippet(record, base_url, merchant_name),
        "started_at": timestamp(record.started_at),
        "last_modified_at": timestamp(record.last_modified_at),
    }
    if record.completed_at is not None:
        out["completed_at"] = timestamp(record.completed_at)
    out["options"] = {**OPTION_DEFAULTS, **doc.pop("options", {})}
    out["external_payment_methods"] = doc.pop("external_payment_methods", [])
    out["external_checkouts"] = doc.pop("external_checkouts", [])
    out.update(doc)
    if session.selected_shipping_option is not None:
        out["selected_shipping_option"] = to_builtins(session.selected_shipping_option)
    states = checkbox_states(record.order, session.checkboxes or {})
    requested = merchant_requested(record.order, states)
    if requested is not None:
        out["merchant_requested"] = requested
    if session.recurring_token is not None:
        out["recurring_token"] = session.recurring_token
    return out
