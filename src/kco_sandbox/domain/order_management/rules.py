"""What each Order Management operation does to an order, and when it is refused.

Each function takes an order and returns the changed order (None where nothing changes), or
raises the vendor's error with its message. The table of allowed actions per status is
`lifecycle.ALLOWED`; this module adds the rules on amounts, dates and fraud status. Nothing here
reads or writes storage: `services.order_management` runs these inside its transactions.

A capture or a refund is judged by the order's running totals alone, and returned beside the
order (whose totals now count it) rather than inside it: the order never holds its captures. An
action on one capture is handed that capture as storage found it (None: no such capture) and
returns it changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import msgspec

from kco_sandbox.domain.errors import (
    BadValue,
    CancelNotAllowed,
    CaptureNotAllowed,
    NoSuchCapture,
    NotAllowed,
    RefundNotAllowed,
)
from kco_sandbox.domain.lines import bad_line_field
from kco_sandbox.domain.order_management.lifecycle import (
    ALLOWED,
    AUTHORIZATION_LIFETIME,
    MAX_AUTHORIZATION_LIFETIME,
    FraudStatus,
    OmAction,
    OmStatus,
    captured_amount,
    fraud_status,
    is_expired,
    refunded_amount,
    remaining_authorized_amount,
    status,
)
from kco_sandbox.domain.order_management.order import (
    AuthorizationUpdate,
    Capture,
    CaptureRequest,
    CustomerUpdate,
    OmLine,
    OmOrder,
    ReferencesUpdate,
    Refund,
    RefundRequest,
    ShippingInfo,
)

# The vendor's words when an action meets a status that does not allow it.
REFUSALS: Final[dict[OmAction, tuple[type[NotAllowed], str]]] = {
    OmAction.UPDATE_AUTHORIZATION: (NotAllowed, "Order authorization cannot be updated."),
    OmAction.UPDATE_CUSTOMER: (NotAllowed, "Customer details cannot be updated."),
    OmAction.EXTEND_AUTHORIZATION: (
        NotAllowed,
        "Order is {status_lower}. Authorization time cannot be extended.",
    ),
    OmAction.UPDATE_REFERENCES: (
        NotAllowed,
        "Order is cancelled. Merchant references cannot be updated.",
    ),
    OmAction.RELEASE: (
        NotAllowed,
        "Order is {status_lower}. Remaining authorization cannot be released.",
    ),
    OmAction.SHIPPING_INFO: (NotAllowed, "Order is cancelled. Shipping info cannot be added."),
    OmAction.CANCEL: (CancelNotAllowed, "Order is {status_lower}. Cancel not possible."),
    OmAction.CAPTURE: (CaptureNotAllowed, "Order is {status_lower}. Capture not possible."),
    OmAction.REFUND: (RefundNotAllowed, "Order has no captures. Refund not possible."),
    OmAction.CAPTURE_SHIPPING_INFO: (NotAllowed, "Order has no captures"),
    OmAction.TRIGGER_SEND_OUT: (NotAllowed, "Order has no captures"),
    OmAction.EXTEND_DUE_DATE: (NotAllowed, "Extension of due date is not possible."),
}
DUE_DATE_OPTIONS: Final = ((14, 295), (30, 495))  # (days, fee in minor units)


@dataclass(frozen=True, slots=True)
class DueDateOptions:
    """What extending a capture's due date may cost: (days, fee in minor units) in `currency`."""

    currency: str
    options: tuple[tuple[int, int], ...]


def require(action: OmAction, order: OmOrder, now: datetime) -> OmStatus:
    current = status(order, now)
    if current not in ALLOWED[action]:
        error, template = REFUSALS[action]
        if action is OmAction.CANCEL and captured_amount(order) > 0:
            raise CancelNotAllowed("Order has previous captures. Cancel not possible.")
        if action is OmAction.CAPTURE and current is OmStatus.EXPIRED:
            raise CaptureNotAllowed(f"Order {order.order_id} is expired. Capture not possible.")
        if action is OmAction.RELEASE and current is OmStatus.CAPTURED:
            raise NotAllowed("Order is fully captured. Remaining authorization cannot be released.")
        if action is OmAction.RELEASE and current is OmStatus.AUTHORIZED:
            raise NotAllowed("Order has no captures. Remaining authorization cannot be released.")
        raise error(template.format(status_lower=current.value.lower().replace("_", " ")))
    return current


def check_lines(lines: Sequence[OmLine] | None, amount: int | None, amount_field: str) -> None:
    """Lines sent with a capture or new authorization must add up to `amount`, line by line too;
    with `amount` None (a refund's lines) only line by line."""
    if not lines:
        return
    for i, line in enumerate(lines):
        # Unlike Checkout, any line type may be positive, and the tax is checked only when both
        # tax fields are given (`bad_line_field` skips it otherwise).
        bad = bad_line_field(line)
        if bad is not None:
            raise BadValue(f"order_lines[{i}].{bad}")
    if amount is not None and sum(line.total_amount for line in lines) != amount:
        raise BadValue(amount_field)


def capture(
    order: OmOrder, request: CaptureRequest, capture_id: str, now: datetime
) -> tuple[OmOrder, Capture]:
    require(OmAction.CAPTURE, order, now)
    if fraud_status(order, now) is FraudStatus.PENDING:
        raise CaptureNotAllowed("Order is pending a fraud decision. Capture not possible.")
    if request.captured_amount <= 0:
        raise CaptureNotAllowed("Captured amount must be greater than 0. Capture not possible.")
    if request.captured_amount > remaining_authorized_amount(order, now):
        raise CaptureNotAllowed(
            "Captured amount is higher than the remaining authorized amount. Capture not possible."
        )
    check_lines(request.order_lines, request.captured_amount, "captured_amount")
    count = order.capture_count + 1
    new = Capture(
        capture_id=capture_id,
        klarna_reference=f"{order.klarna_reference}-{count}",
        captured_amount=request.captured_amount,
        captured_at=now,
        description=request.description or "",
        reference=request.reference,
        order_lines=list(request.order_lines or []),
        shipping_info=list(request.shipping_info or []),
        billing_address=order.billing_address,
        shipping_address=order.shipping_address,
    )
    counted = msgspec.structs.replace(
        order,
        captured_amount=order.captured_amount + new.captured_amount,
        capture_count=count,
        ledger_changed_at=_latest(order.ledger_changed_at, now),
    )
    return counted, new


def refund(
    order: OmOrder, request: RefundRequest, refund_id: str, now: datetime
) -> tuple[OmOrder, Refund]:
    require(OmAction.REFUND, order, now)
    if request.refunded_amount <= 0:
        raise RefundNotAllowed("Refunded amount must be greater than 0. Refund not possible.")
    if refunded_amount(order) + request.refunded_amount > captured_amount(order):
        raise RefundNotAllowed(
            "Refunded amount is higher than the captured amount. Refund not possible."
        )
    # A refund's lines are informational (optional in the vendor's OpenAPI file, which lists no
    # 400 for refunds, and some clients send every line of the order): each line's own
    # arithmetic must hold, but their sum need not be the refunded amount.
    check_lines(request.order_lines, None, "refunded_amount")
    new = Refund(
        refund_id=refund_id,
        refunded_amount=request.refunded_amount,
        refunded_at=now,
        description=request.description or "",
        reference=request.reference,
        order_lines=list(request.order_lines or []),
    )
    counted = msgspec.structs.replace(
        order,
        refunded_amount=order.refunded_amount + new.refunded_amount,
        refund_count=order.refund_count + 1,
        ledger_changed_at=_latest(order.ledger_changed_at, now),
    )
    return counted, new


def _latest(before: datetime | None, now: datetime) -> datetime:
    """The latest of the ledger's times so far and `now` (a merchant's clock may be set back)."""
    return now if before is None else max(before, now)


def acknowledge(order: OmOrder, now: datetime) -> OmOrder | None:
    """Mark the order acknowledged; None (no change) if it already is. Allowed in every status."""
    if order.acknowledged_at is not None:
        return None
    return msgspec.structs.replace(order, acknowledged_at=now)


def cancel(order: OmOrder, now: datetime) -> OmOrder:
    require(OmAction.CANCEL, order, now)
    return msgspec.structs.replace(order, cancelled_at=now)


def release(order: OmOrder, now: datetime) -> OmOrder:
    require(OmAction.RELEASE, order, now)
    return msgspec.structs.replace(order, released_at=now)


def update_authorization(order: OmOrder, update: AuthorizationUpdate, now: datetime) -> OmOrder:
    require(OmAction.UPDATE_AUTHORIZATION, order, now)
    captured = captured_amount(order)
    if update.order_amount < captured:
        raise NotAllowed(
            f"Resulting authorization amount {update.order_amount} cannot be less than the "
            f"captured amount {captured} for order. Order authorization cannot be updated"
        )
    check_lines(update.order_lines, update.order_amount, "order_amount")
    lines = list(update.order_lines) if update.order_lines is not None else order.order_lines
    return msgspec.structs.replace(order, order_amount=update.order_amount, order_lines=lines)


def update_customer(order: OmOrder, update: CustomerUpdate, now: datetime) -> OmOrder:
    require(OmAction.UPDATE_CUSTOMER, order, now)
    if update.billing_address is not None:
        raise NotAllowed("Billing address cannot be updated. Only the shipping address may change.")
    if update.shipping_address is None:
        return order
    merged = {
        **msgspec.to_builtins(order.shipping_address or {}),
        **msgspec.to_builtins(update.shipping_address),
    }
    return msgspec.structs.replace(
        order, shipping_address=msgspec.convert(merged, type(update.shipping_address))
    )


def update_references(order: OmOrder, update: ReferencesUpdate, now: datetime) -> OmOrder:
    require(OmAction.UPDATE_REFERENCES, order, now)
    changes = {
        name: getattr(update, name)
        for name in ("merchant_reference1", "merchant_reference2")
        if getattr(update, name) is not None
    }
    return msgspec.structs.replace(order, **changes)


def extend_authorization(order: OmOrder, now: datetime) -> OmOrder:
    """28 days from now, but never more than 90 days after the purchase."""
    require(OmAction.EXTEND_AUTHORIZATION, order, now)
    if is_expired(order, now):
        raise NotAllowed("Order is expired. Authorization time cannot be extended.")
    latest = order.created_at + MAX_AUTHORIZATION_LIFETIME
    if order.expires_at >= latest:
        raise NotAllowed("Authorization time cannot be extended beyond 90 days after the purchase.")
    return msgspec.structs.replace(order, expires_at=min(now + AUTHORIZATION_LIFETIME, latest))


def add_shipping_info(order: OmOrder, info: Sequence[ShippingInfo], now: datetime) -> OmOrder:
    require(OmAction.SHIPPING_INFO, order, now)
    return msgspec.structs.replace(order, shipping_info=[*order.shipping_info, *info])


# Actions on one capture: `found` is the capture `capture_id` of the order as storage found it
# (None: the order has no such capture). The capture is looked up before the status is judged:
# an unknown capture answers 404 whatever the order's status.


def find_capture(order: OmOrder, capture_id: str, found: Capture | None) -> Capture:
    if found is None or found.capture_id != capture_id:
        raise NoSuchCapture(f"Capture {capture_id} cannot be found for order {order.order_id}")
    return found


def add_capture_shipping_info(
    order: OmOrder,
    capture_id: str,
    found: Capture | None,
    info: Sequence[ShippingInfo],
    now: datetime,
) -> Capture:
    """The capture with `info` added."""
    capture = find_capture(order, capture_id, found)
    require(OmAction.CAPTURE_SHIPPING_INFO, order, now)
    return msgspec.structs.replace(capture, shipping_info=[*capture.shipping_info, *info])


def trigger_send_out(order: OmOrder, capture_id: str, found: Capture | None, now: datetime) -> None:
    """Refuse a send-out the order does not allow; an allowed one changes nothing stored (the
    vendor would send the customer the invoice again)."""
    find_capture(order, capture_id, found)
    require(OmAction.TRIGGER_SEND_OUT, order, now)


def due_date_options(order: OmOrder, capture_id: str, found: Capture | None) -> DueDateOptions:
    """The due-date extensions offered for a capture of `order`, in the order's currency."""
    find_capture(order, capture_id, found)
    return DueDateOptions(order.purchase_currency.lower(), DUE_DATE_OPTIONS)


def extend_due_date(
    order: OmOrder, capture_id: str, found: Capture | None, days: int, now: datetime
) -> Capture:
    """The capture with its due date extended by `days`."""
    capture = find_capture(order, capture_id, found)
    require(OmAction.EXTEND_DUE_DATE, order, now)
    if capture.due_date_extended_days or days not in dict(DUE_DATE_OPTIONS):
        raise NotAllowed("Extension of due date is not possible.")
    return msgspec.structs.replace(capture, due_date_extended_days=days)
