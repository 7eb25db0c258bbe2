"""The portal's order actions and sandbox controls: what a merchant does to an order by hand.

Captures, refunds, cancels and the like go through `OrderManagementService`, the very methods
the API calls, so the vendor's rules and error messages apply unchanged; this module only adds
what a person at a form needs on top: an empty amount means "all that is left", and each action
is written to the order's timeline as a `portal.action` event.

Two use-cases exist only here:

- `decide_fraud`: the platform decides a pending order's fraud review at the time the persona set
  at purchase (`+pend-accept-NN`, `+pend-reject-NN`). Accept or Reject brings that decision
  forward to now, with the outcome chosen, and does what the vendor's decision does: the order's
  fraud status becomes ACCEPTED or REJECTED (a rejected order reads CANCELLED) and the
  `FRAUD_RISK_ACCEPTED` / `FRAUD_RISK_REJECTED` notification queued at purchase is sent now,
  saying the chosen outcome (none when the order has no notification URL). The checkout's own
  record keeps the status the shopper saw (PENDING): Order Management is where it is read.
- `resend_push`: a push for a completed order, due now, on the push schedule from now on.
  Acknowledging the order stops it, as it stops every push; so an acknowledged order is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import msgspec

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.record import order_url
from kco_sandbox.domain.delivery import Callback, CallbackKind, Delivery
from kco_sandbox.domain.errors import Conflict, NoSuchOrder, NotAllowed
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management import lifecycle
from kco_sandbox.domain.order_management.idempotency import Replay
from kco_sandbox.domain.order_management.lifecycle import ALLOWED, FraudStatus, OmAction, OmStatus
from kco_sandbox.domain.order_management.order import (
    Capture,
    CaptureRequest,
    OmOrder,
    Refund,
    RefundRequest,
)
from kco_sandbox.domain.purchase.cart import expand_url
from kco_sandbox.ids import IdFactory
from kco_sandbox.services.order_management import OrderManagementService
from kco_sandbox.store import Store
from kco_sandbox.store.portal_controls import FraudDecisions, OpenCheckouts, OpenPage

MAX_ATTEMPTS: Final = 20  # rounds lost to other writers before a decision answers CONFLICT
OPEN_PAGE: Final = 20  # open checkouts listed a page on the sandbox page

# The portal's actions, by the name in their URL, and the lifecycle action each one is.
LIFECYCLE: Final[Mapping[str, OmAction]] = {
    "acknowledge": OmAction.ACKNOWLEDGE,
    "capture": OmAction.CAPTURE,
    "refund": OmAction.REFUND,
    "cancel": OmAction.CANCEL,
    "release": OmAction.RELEASE,
    "extend": OmAction.EXTEND_AUTHORIZATION,
}
FRAUD_ACTIONS: Final = ("accept", "reject")
ACTIONS: Final = (*LIFECYCLE, *FRAUD_ACTIONS, "push")


def offered(om: Mapping[str, Any] | None) -> frozenset[str]:
    """The actions an order's page offers, from its Order Management JSON (None: the checkout is
    not complete, nothing is offered). Statuses come from the lifecycle table; the one extra rule
    is the vendor's: nothing is captured while a fraud decision is pending."""
    if om is None:
        return frozenset()
    status = OmStatus(om["status"])
    pending = om.get("fraud_status") == FraudStatus.PENDING.value
    names = {name for name, action in LIFECYCLE.items() if status in ALLOWED[action]}
    if pending:
        names.discard("capture")
        names.update(FRAUD_ACTIONS)
    names.add("push")
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class OrderActionsService:
    store: Store
    clock: MerchantClocks
    new_id: IdFactory
    management: OrderManagementService
    delivery: Delivery

    # amounts the form left empty

    def capture(self, merchant: Merchant, order_id: str, amount: int | None) -> Capture | Replay:
        """Capture `amount` (None: the remaining authorized amount)."""
        if amount is None:
            order = self.management.get_order_summary(merchant, order_id)
            amount = lifecycle.remaining_authorized_amount(order, self._now(merchant))
        return self.management.capture(merchant, order_id, CaptureRequest(captured_amount=amount))

    def refund(self, merchant: Merchant, order_id: str, amount: int | None) -> Refund | Replay:
        """Refund `amount` (None: everything captured and not refunded yet)."""
        if amount is None:
            order = self.management.get_order_summary(merchant, order_id)
            amount = lifecycle.captured_amount(order) - lifecycle.refunded_amount(order)
        return self.management.refund(merchant, order_id, RefundRequest(refunded_amount=amount))

    # the sandbox's own

    def decide_fraud(self, merchant: Merchant, order_id: str, accept: bool) -> int:
        """Take a pending order's fraud decision now (see the module docstring); the number of
        notifications that fall due now (0 or 1)."""
        decisions = FraudDecisions(self.store.db)
        event = "FRAUD_RISK_ACCEPTED" if accept else "FRAUD_RISK_REJECTED"
        for _ in range(MAX_ATTEMPTS):
            order, version = self._owned(merchant, order_id)
            now = self._now(merchant)
            if lifecycle.fraud_status(order, now) is not FraudStatus.PENDING:
                raise NotAllowed("Order is not pending a fraud decision.")
            changed = msgspec.structs.replace(
                order, pending_decision="accept" if accept else "reject", decision_due_at=now
            )
            moved = decisions.decide(changed, version, event, now)
            if moved is not None:
                return moved
        raise Conflict(f"Order {order_id} is being changed by other requests; try again")

    def resend_push(self, merchant: Merchant, order_id: str, base_url: str) -> str:
        """Queue a push for a completed, unacknowledged order, due now; its callback id."""
        record = self.store.checkouts.get(order_id)
        if record is None or record.merchant_id != merchant.merchant_id:
            raise NoSuchOrder(f"Order {order_id} not found")
        if record.status is not CheckoutStatus.CHECKOUT_COMPLETE:
            raise NotAllowed("Only a completed order gets a push.")
        order, _ = self._owned(merchant, order_id)
        if order.acknowledged_at is not None:
            raise NotAllowed(
                "The order is acknowledged: pushes stop once an order is acknowledged."
            )
        now = self._now(merchant)
        url = expand_url(record.order.merchant_urls.push, order_id, order_url(base_url, order_id))
        callback = Callback(
            callback_id=self.new_id(),
            order_id=order_id,
            merchant_id=merchant.merchant_id,
            kind=CallbackKind.PUSH,
            url=url,
            body=b"",
            starts_at=now,
            next_attempt_at=now,
        )
        self.store.outbox.enqueue(callback, now)
        return callback.callback_id

    def open_checkouts(
        self, merchant: Merchant, before: tuple[datetime, str] | None = None
    ) -> OpenPage:
        """A page of the merchant's incomplete, unexpired checkouts, newest first."""
        return OpenCheckouts(self.store.db).page(
            merchant.merchant_id, self._now(merchant), OPEN_PAGE, before
        )

    # the timeline

    def record(
        self, merchant: Merchant, order_id: str, detail: Mapping[str, Any], status: int
    ) -> None:
        """A portal action joins the order's timeline (written only if the order is the
        merchant's, as API calls are), committed now so the page it redirects to shows it."""
        entry = {"method": "POST", "status": status, "source": "portal", **detail}
        self.store.events.buffer(
            order_id, merchant.merchant_id, self._now(merchant), "portal.action", entry
        )
        self.store.events.flush()

    def _owned(self, merchant: Merchant, order_id: str) -> tuple[OmOrder, int]:
        found = self.store.orders.get(order_id)
        if found is None or found[0].merchant_id != merchant.merchant_id:
            raise NoSuchOrder(f"Order {order_id} not found")
        return found

    def _now(self, merchant: Merchant) -> datetime:
        return self.clock.now(merchant.merchant_id)
