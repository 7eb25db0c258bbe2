"""Order Management use-cases: one method per vendor operation, each owning its transaction.

Reads return the order with its captures and refunds (`OmOrderView`), a capture or a refund.
Changes take the decoded request and an optional `Klarna-Idempotency-Key` and return what they
made (a `Capture`, a `Refund`) or the order as they left it, or a `Replay` when the key was used
before on the same operation and order (and capture): a key is scoped to one operation on one
order (`domain.order_management.idempotency.scope`).

Every change goes through `_change`: it reads the order (and the one capture a capture-level
operation names, never the others) and looks the key up together and, if a call under the key
already succeeded, returns that call's `Replay` before any rule runs (a repeat of a capture that
took the whole authorization must answer like the first, not be refused). Otherwise it applies a
pure rule from `domain.order_management.rules` and writes the result (the order, and the capture
or refund made or changed) only if no one else wrote the order meanwhile; if someone did, it
starts again (key look-up included) on the fresh order, so two captures racing are judged one
after the other. The key is recorded in the same transaction as the change, so a repeat can
never apply a change twice.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain.errors import Conflict, NoSuchOrder, NotFound
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management import rules
from kco_sandbox.domain.order_management.idempotency import Replay, scope, scopes_answering
from kco_sandbox.domain.order_management.lifecycle import OmAction
from kco_sandbox.domain.order_management.order import (
    AuthorizationUpdate,
    Capture,
    CaptureRequest,
    CustomerUpdate,
    OmOrder,
    OmOrderView,
    ReferencesUpdate,
    Refund,
    RefundRequest,
    ShippingInfoUpdate,
)
from kco_sandbox.ids import IdFactory
from kco_sandbox.services.order_locks import OrderLocks
from kco_sandbox.store.orders import Change, Found, KeyAlreadyUsed, Orders, Remember

T = TypeVar("T")
MAX_ATTEMPTS = 50  # rounds lost to writers in other processes before answering 409 CONFLICT
_ORDER_LOCKS = OrderLocks()  # writers of one order in this process go one at a time
_REFERENCE_ALPHABET = string.ascii_uppercase + string.digits

# A rule: what the change read (the order, and the capture it names) and the time in; what to
# write (None: nothing) and a result out.
Rule = Callable[[Found, datetime], tuple[Change | None, T]]
# A rule that only changes the order (None: nothing changes); the result is the order after it.
OrderChange = Callable[[OmOrder, datetime], OmOrder | None]
# A rule on the capture a call names (None: the order has no such capture); the changed capture
# (None: nothing changes); the result is the order.
CaptureChange = Callable[[OmOrder, Capture | None, datetime], Capture | None]


def new_klarna_reference() -> str:
    """Seven upper-case letters and digits, like the vendor's customer-facing references."""
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(7))


@dataclass(frozen=True, slots=True)
class OrderManagementService:
    orders: Orders
    clock: MerchantClocks  # each order's time is its merchant's
    new_id: IdFactory

    # Reading

    def get_order(self, merchant: Merchant, order_id: str) -> OmOrderView:
        """The order with every capture and refund (the vendor's `GET` answers them all)."""
        view = self.orders.view(order_id)
        if view is None or view.order.merchant_id != merchant.merchant_id:
            raise _no_such_order(order_id)  # another merchant's order does not exist for it
        return view

    def get_order_summary(self, merchant: Merchant, order_id: str) -> OmOrder:
        """The order with its totals, without its captures and refunds: one row, however many
        captures the order has."""
        found = self.orders.get(order_id)
        return self._owned(found[0] if found else None, merchant, order_id)

    def list_captures(self, merchant: Merchant, order_id: str) -> list[Capture]:
        order = self.get_order_summary(merchant, order_id)
        return self.orders.captures(order_id, order.capture_count)

    def get_capture(self, merchant: Merchant, order_id: str, capture_id: str) -> Capture:
        order = self.get_order_summary(merchant, order_id)
        return rules.find_capture(order, capture_id, self.orders.capture(order_id, capture_id))

    def get_refund(self, merchant: Merchant, order_id: str, refund_id: str) -> Refund:
        # The vendor answers NOT_FOUND with the refund's message, even when the order is unknown.
        missing = NotFound(f"Refund {refund_id} cannot be found for order {order_id}")
        try:
            self.get_order_summary(merchant, order_id)
        except NoSuchOrder:
            raise missing from None
        if (found := self.orders.refund(order_id, refund_id)) is None:
            raise missing
        return found

    def extend_due_date_options(
        self, merchant: Merchant, order_id: str, capture_id: str
    ) -> rules.DueDateOptions:
        order = self.get_order_summary(merchant, order_id)
        return rules.due_date_options(order, capture_id, self.orders.capture(order_id, capture_id))

    # Changing the order

    def acknowledge(
        self, merchant: Merchant, order_id: str, idempotency_key: str | None = None
    ) -> OmOrder | Replay:
        """Acknowledge the order; again changes nothing and still succeeds."""
        return self._update(
            merchant, order_id, OmAction.ACKNOWLEDGE, idempotency_key, rules.acknowledge
        )

    def update_authorization(
        self,
        merchant: Merchant,
        order_id: str,
        update: AuthorizationUpdate,
        idempotency_key: str | None = None,
    ) -> OmOrder | Replay:
        return self._update(
            merchant,
            order_id,
            OmAction.UPDATE_AUTHORIZATION,
            idempotency_key,
            lambda order, now: rules.update_authorization(order, update, now),
        )

    def update_customer_details(
        self,
        merchant: Merchant,
        order_id: str,
        update: CustomerUpdate,
        idempotency_key: str | None = None,
    ) -> OmOrder | Replay:
        return self._update(
            merchant,
            order_id,
            OmAction.UPDATE_CUSTOMER,
            idempotency_key,
            lambda order, now: rules.update_customer(order, update, now),
        )

    def extend_authorization_time(
        self, merchant: Merchant, order_id: str, idempotency_key: str | None = None
    ) -> OmOrder | Replay:
        return self._update(
            merchant,
            order_id,
            OmAction.EXTEND_AUTHORIZATION,
            idempotency_key,
            rules.extend_authorization,
        )

    def update_merchant_references(
        self,
        merchant: Merchant,
        order_id: str,
        update: ReferencesUpdate,
        idempotency_key: str | None = None,
    ) -> OmOrder | Replay:
        return self._update(
            merchant,
            order_id,
            OmAction.UPDATE_REFERENCES,
            idempotency_key,
            lambda order, now: rules.update_references(order, update, now),
        )

    def release_remaining_authorization(
        self, merchant: Merchant, order_id: str, idempotency_key: str | None = None
    ) -> OmOrder | Replay:
        return self._update(merchant, order_id, OmAction.RELEASE, idempotency_key, rules.release)

    def add_shipping_info(
        self,
        merchant: Merchant,
        order_id: str,
        update: ShippingInfoUpdate,
        idempotency_key: str | None = None,
    ) -> OmOrder | Replay:
        return self._update(
            merchant,
            order_id,
            OmAction.SHIPPING_INFO,
            idempotency_key,
            lambda order, now: rules.add_shipping_info(order, update.shipping_info, now),
        )

    def cancel(
        self, merchant: Merchant, order_id: str, idempotency_key: str | None = None
    ) -> OmOrder | Replay:
        return self._update(merchant, order_id, OmAction.CANCEL, idempotency_key, rules.cancel)

    # Captures and refunds

    def capture(
        self,
        merchant: Merchant,
        order_id: str,
        request: CaptureRequest,
        idempotency_key: str | None = None,
    ) -> Capture | Replay:
        capture_id = self.new_id()  # once, so every retry makes the same capture

        def capture(found: Found, now: datetime) -> tuple[Change, Capture]:
            order, made = rules.capture(found.order, request, capture_id, now)
            return Change(order, made=made), made

        return self._change(merchant, order_id, OmAction.CAPTURE, idempotency_key, capture)

    def add_capture_shipping_info(
        self,
        merchant: Merchant,
        order_id: str,
        capture_id: str,
        update: ShippingInfoUpdate,
        idempotency_key: str | None = None,
    ) -> OmOrder | Replay:
        def add(order: OmOrder, found: Capture | None, now: datetime) -> Capture:
            info = update.shipping_info
            return rules.add_capture_shipping_info(order, capture_id, found, info, now)

        return self._update_capture(
            merchant, order_id, capture_id, OmAction.CAPTURE_SHIPPING_INFO, idempotency_key, add
        )

    def trigger_send_out(
        self,
        merchant: Merchant,
        order_id: str,
        capture_id: str,
        idempotency_key: str | None = None,
    ) -> OmOrder | Replay:
        def send_out(order: OmOrder, found: Capture | None, now: datetime) -> None:
            rules.trigger_send_out(order, capture_id, found, now)

        return self._update_capture(
            merchant, order_id, capture_id, OmAction.TRIGGER_SEND_OUT, idempotency_key, send_out
        )

    def extend_due_date(
        self,
        merchant: Merchant,
        order_id: str,
        capture_id: str,
        days: int,
        idempotency_key: str | None = None,
    ) -> OmOrder | Replay:
        def extend(order: OmOrder, found: Capture | None, now: datetime) -> Capture:
            return rules.extend_due_date(order, capture_id, found, days, now)

        return self._update_capture(
            merchant, order_id, capture_id, OmAction.EXTEND_DUE_DATE, idempotency_key, extend
        )

    def refund(
        self,
        merchant: Merchant,
        order_id: str,
        request: RefundRequest,
        idempotency_key: str | None = None,
    ) -> Refund | Replay:
        refund_id = self.new_id()  # once, so every retry makes the same refund

        def refund(found: Found, now: datetime) -> tuple[Change, Refund]:
            order, made = rules.refund(found.order, request, refund_id, now)
            return Change(order, made=made), made

        try:
            return self._change(merchant, order_id, OmAction.REFUND, idempotency_key, refund)
        except NoSuchOrder as exc:
            # The vendor's file names NOT_FOUND, not NO_SUCH_ORDER, for a refund on no order.
            raise NotFound(*exc.messages) from None

    # The one transaction pattern

    @staticmethod
    def _owned(found: OmOrder | None, merchant: Merchant, order_id: str) -> OmOrder:
        """`found` if it is `merchant`'s order: another merchant's order does not exist for it."""
        if found is None or found.merchant_id != merchant.merchant_id:
            raise _no_such_order(order_id)
        return found

    def _update(
        self,
        merchant: Merchant,
        order_id: str,
        operation: OmAction,
        idempotency_key: str | None,
        change: OrderChange,
    ) -> OmOrder | Replay:
        """`_change` for a rule that only changes the order; the result is the order after it."""

        def rule(found: Found, now: datetime) -> tuple[Change | None, OmOrder]:
            changed = change(found.order, now)
            if changed is None:
                return None, found.order
            return Change(changed), changed

        return self._change(merchant, order_id, operation, idempotency_key, rule)

    def _update_capture(
        self,
        merchant: Merchant,
        order_id: str,
        capture_id: str,
        operation: OmAction,
        idempotency_key: str | None,
        change: CaptureChange,
    ) -> OmOrder | Replay:
        """`_change` for a rule on one capture; the result is the order. The order is written
        too (its version moves), so two changes of one capture are judged one after the other."""

        def rule(found: Found, now: datetime) -> tuple[Change | None, OmOrder]:
            changed = change(found.order, found.capture, now)
            if changed is None:
                return None, found.order
            return Change(found.order, changed_capture=changed), found.order

        return self._change(merchant, order_id, operation, idempotency_key, rule, capture_id)

    def _change(
        self,
        merchant: Merchant,
        order_id: str,
        operation: OmAction,
        idempotency_key: str | None,
        rule: Rule[T],
        capture_id: str | None = None,
    ) -> T | Replay:
        """Replay the key's first answer, or apply `rule` and write it (see module docstring).

        The key is scoped to `operation` on `order_id` (and `capture_id`, for a capture-level
        operation): the same key on another operation, order or capture is a new key.
        """
        scopes = scopes_answering(operation, order_id, capture_id)
        # Writers in this process queue on the order's lock (see `order_locks`); the optimistic
        # check below still catches other processes' writers, and rarely needs a second round.
        with _ORDER_LOCKS.hold(order_id):
            for _ in range(MAX_ATTEMPTS):
                found = self.orders.get_or_replay(
                    order_id, merchant.merchant_id, idempotency_key, scopes, capture_id
                )
                if isinstance(found, Replay):
                    return found
                if found is None or found.order.merchant_id != merchant.merchant_id:
                    raise _no_such_order(order_id)  # another merchant's order does not exist
                now = self.clock.now(merchant.merchant_id)
                changed, result = rule(found, now)
                remember = (
                    Remember(
                        merchant.merchant_id,
                        idempotency_key,
                        scope(operation, order_id, capture_id),
                        Replay(operation, order_id, _created_id(result)),
                        now,
                    )
                    if idempotency_key
                    else None
                )
                try:
                    if changed is None:
                        if remember is not None:
                            self.orders.remember(remember)
                        return result
                    if self.orders.save(changed, found.version, remember):
                        return result
                except KeyAlreadyUsed:
                    pass  # the same key won a race: the next round replays its answer
        # Other processes kept winning: a clear, retryable answer rather than a 500.
        raise Conflict(f"Order {order_id} is being changed by other requests; try again")


def _no_such_order(order_id: str) -> NoSuchOrder:
    return NoSuchOrder(f"Order {order_id} not found")


def _created_id(result: object) -> str | None:
    """The id of the capture or refund an operation made, for replaying it."""
    if isinstance(result, Capture):
        return result.capture_id
    if isinstance(result, Refund):
        return result.refund_id
    return None
