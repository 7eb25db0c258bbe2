"""The Order Management lifecycle: derived status and amounts, and what each status allows.

Status and remaining amount are not stored: they follow from the order's running totals of its
captures and refunds (kept on the order by the very change that adds a capture or refund, see
`rules.capture` and `rules.refund`) and a few dated facts (cancelled, released, expiry, fraud
decision). No function here reads a capture or a refund, so their cost does not grow with them.

Observed on the vendor's playground (and followed here): a fully captured order that is then
fully refunded still reads `CAPTURED`, with `refunded_amount == captured_amount`; a cancelled
order still shows its `remaining_authorized_amount`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from kco_sandbox.domain.order_management.order import OmOrder

AUTHORIZATION_LIFETIME: Final = timedelta(days=28)
MAX_AUTHORIZATION_LIFETIME: Final = timedelta(days=90)


class OmStatus(StrEnum):
    AUTHORIZED = "AUTHORIZED"
    PART_CAPTURED = "PART_CAPTURED"
    CAPTURED = "CAPTURED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    CLOSED = "CLOSED"


class FraudStatus(StrEnum):
    ACCEPTED = "ACCEPTED"
    PENDING = "PENDING"
    REJECTED = "REJECTED"


class OmAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    UPDATE_AUTHORIZATION = "update_authorization"
    UPDATE_CUSTOMER = "update_customer"
    EXTEND_AUTHORIZATION = "extend_authorization"
    UPDATE_REFERENCES = "update_references"
    RELEASE = "release_remaining_authorization"
    SHIPPING_INFO = "shipping_info"
    CANCEL = "cancel"
    CAPTURE = "capture"
    REFUND = "refund"
    CAPTURE_SHIPPING_INFO = "capture_shipping_info"
    TRIGGER_SEND_OUT = "trigger_send_out"
    EXTEND_DUE_DATE = "extend_due_date"


_S = OmStatus
OPEN: Final = frozenset({_S.AUTHORIZED, _S.PART_CAPTURED})
CAPTURED_ANY: Final = frozenset({_S.PART_CAPTURED, _S.CAPTURED})

# The lifecycle in one table: the statuses in which each merchant action is allowed. Rules on
# amounts (how much may be captured or refunded) come on top, in `om_rules`.
ALLOWED: Final[Mapping[OmAction, frozenset[OmStatus]]] = {
    OmAction.ACKNOWLEDGE: frozenset(OmStatus),
    OmAction.UPDATE_AUTHORIZATION: OPEN,
    OmAction.UPDATE_CUSTOMER: OPEN | {_S.CAPTURED},
    OmAction.EXTEND_AUTHORIZATION: OPEN,
    OmAction.UPDATE_REFERENCES: frozenset(OmStatus) - {_S.CANCELLED},
    OmAction.RELEASE: frozenset({_S.PART_CAPTURED}),
    OmAction.SHIPPING_INFO: frozenset(OmStatus) - {_S.CANCELLED},
    OmAction.CANCEL: frozenset({_S.AUTHORIZED, _S.EXPIRED}),
    OmAction.CAPTURE: OPEN,
    OmAction.REFUND: CAPTURED_ANY | {_S.CLOSED},
    OmAction.CAPTURE_SHIPPING_INFO: CAPTURED_ANY | {_S.CLOSED},
    OmAction.TRIGGER_SEND_OUT: CAPTURED_ANY,
    OmAction.EXTEND_DUE_DATE: CAPTURED_ANY,
}


def fraud_status(order: OmOrder, now: datetime) -> FraudStatus:
    """The fraud status at `now`: a pending order's decision applies once it falls due."""
    status = FraudStatus(order.fraud_status)
    if status is FraudStatus.PENDING and order.decision_due_at and now >= order.decision_due_at:
        return FraudStatus.ACCEPTED if order.pending_decision == "accept" else FraudStatus.REJECTED
    return status


def captured_amount(order: OmOrder) -> int:
    return order.captured_amount


def refunded_amount(order: OmOrder) -> int:
    return order.refunded_amount


def is_expired(order: OmOrder, now: datetime) -> bool:
    return now >= order.expires_at


def status(order: OmOrder, now: datetime) -> OmStatus:
    captured = captured_amount(order)
    if order.cancelled_at is not None or fraud_status(order, now) is FraudStatus.REJECTED:
        return OmStatus.CANCELLED
    if captured > 0 and (captured >= order.order_amount or order.released_at is not None):
        return OmStatus.CAPTURED
    if captured > 0:
        return OmStatus.PART_CAPTURED
    if is_expired(order, now):
        return OmStatus.EXPIRED
    return OmStatus.AUTHORIZED


def remaining_authorized_amount(order: OmOrder, now: datetime) -> int:
    """What is left to capture. A cancelled order keeps showing it (as recorded from the vendor's
    playground); a released or expired authorization has nothing left."""
    if order.released_at is not None:
        return 0
    if is_expired(order, now) and status(order, now) is not OmStatus.CANCELLED:
        return 0
    return max(order.order_amount - captured_amount(order), 0)
