"""When an order stopped being changeable: the moment retention counts from.

Pure rules over the checkout record and its Order Management order; `services/retention.py`
deletes what has been finished for longer than the retention window (docs/operations.md,
"Retention").

- A checkout that never completed (`checkout_incomplete` or aborted, the statuses in
  `checkout.lifecycle.EXPIRES`) is finished when it expires: after that it answers `404` and
  nothing can change it (the store selects these by `expires_at`).
- A completed checkout is finished when its Order Management order is:
  - cancelled (by the merchant, or by a rejected fraud decision): at that moment;
  - captured in full, or captured in part and released: at its last capture, refund or release.
    A refund is still possible then, and one moves the moment forward;
  - authorization expired: at the expiry (or the last capture or refund after it, for an order
    captured in part: nothing more can be captured once the authorization has expired).
  Until then (authorized, or captured in part with authorization left) it is open.

A customer token is counted from its last use (minted, charged, its status changed), whatever
became of its orders: a token nobody used for the window is deleted (the store selects these by
`last_used_at`), and a charge on it is then `TOKEN_NOT_FOUND`.
"""

from __future__ import annotations

from datetime import datetime

from kco_sandbox.domain.order_management.lifecycle import (
    FraudStatus,
    OmStatus,
    fraud_status,
    is_expired,
    status,
)
from kco_sandbox.domain.order_management.order import OmOrder


def om_finished_at(order: OmOrder, now: datetime) -> datetime | None:
    """When `order` stopped being changeable, at `now`; None while it is open."""
    if order.cancelled_at is not None:
        return order.cancelled_at
    if fraud_status(order, now) is FraudStatus.REJECTED:
        return order.decision_due_at or order.created_at
    current = status(order, now)
    changes = [order.ledger_changed_at] if order.ledger_changed_at is not None else []
    if order.released_at is not None:
        changes.append(order.released_at)
    if current is OmStatus.CAPTURED:
        return max(changes)
    if current is OmStatus.EXPIRED or (
        current is OmStatus.PART_CAPTURED and is_expired(order, now)
    ):
        return max([order.expires_at, *changes])
    return None
