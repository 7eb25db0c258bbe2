"""Use-cases of the sandbox's own control API: an order's timeline, faults, fraud stops, the log
of API calls.

None of these are vendor operations; they are what a developer testing an integration needs.
Each takes plain values and returns plain records; nothing here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain import faults as fault_state
from kco_sandbox.domain.checkout.record import order_url
from kco_sandbox.domain.delivery import Callback, CallbackKind
from kco_sandbox.domain.errors import BadValue, NoSuchOrder, NotFound
from kco_sandbox.domain.faults import Faults
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.purchase.cart import expand_url
from kco_sandbox.ids import IdFactory
from kco_sandbox.store import Store
from kco_sandbox.store.events import Cursor

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class ApiCall:
    """A merchant's API call on one of its orders, as its timeline keeps it."""

    order_id: str
    merchant_id: str
    method: str
    path: str
    status: int
    correlation_id: str
    duration_ms: float  # from the request's arrival until its answer was sent
    user_agent: str | None
    request: str | None  # the body's first bytes, as text
    response: str | None


@dataclass(frozen=True, slots=True)
class FraudStop:
    order_id: str
    callback_id: str
    event_type: str = "FRAUD_RISK_STOPPED"


@dataclass(frozen=True, slots=True)
class SandboxService:
    store: Store
    clock: MerchantClocks  # an order's events are at its merchant's time
    new_id: IdFactory

    def record_api_call(self, call: ApiCall) -> None:
        """A merchant's API call on an order joins the order's timeline, if the order is that
        merchant's (buffered and checked as it is written, see `store/events.py`)."""
        detail = {
            "method": call.method,
            "path": call.path,
            "status": call.status,
            "correlation_id": call.correlation_id,
            "duration_ms": call.duration_ms,
            "user_agent": call.user_agent,
            "request": call.request,
            "response": call.response,
        }
        at = self.clock.now(call.merchant_id)
        self.store.events.buffer(call.order_id, call.merchant_id, at, "api.call", detail)

    def flush_api_calls(self) -> None:
        self.store.events.flush()

    def order_events(
        self, merchant: Merchant, order_id: str, limit: int | None = None, after: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of what was recorded on an order, oldest first: API calls, merchant callbacks,
        purchase outcomes and push or notification attempts, as `{"at", "kind", ...}`; and the
        cursor of the next page (None after the last). `limit`: 1 to 1000, 100 if not given;
        `after`: the cursor a previous page gave. Only reads: the caller flushes the buffered
        API calls first (`flush_api_calls`, a write) if it wants them in."""
        size = 100 if limit is None else limit
        if not 1 <= size <= 1000:
            raise BadValue("limit", "1 to 1000")
        try:
            cursor = Cursor.decode(after) if after is not None else None
        except ValueError:
            raise BadValue("after", "not a cursor this API gave") from None
        record = self.store.checkouts.get(order_id)
        if record is None or record.merchant_id != merchant.merchant_id:
            raise NotFound(f"Order {order_id} not found")
        page = self.store.events.page(order_id, size, cursor)
        return page.events, page.next.encode() if page.next is not None else None

    def faults(self, merchant: Merchant) -> Faults:
        return fault_state.decode(self.store.state.get(fault_state.state_key(merchant.merchant_id)))

    def set_faults(self, merchant: Merchant, faults: Faults) -> Faults:
        if min(faults.drop, faults.timeout, faults.duplicate, faults.delay_ms) < 0:
            raise BadValue("faults", "counts and delays may not be negative")
        key = fault_state.state_key(merchant.merchant_id)
        self.store.state.set(key, fault_state.encode(faults))
        return faults

    def clear_faults(self, merchant: Merchant) -> None:
        self.set_faults(merchant, Faults())

    def fraud_stop(self, merchant: Merchant, order_id: str, base_url: str) -> FraudStop:
        """Queue a `FRAUD_RISK_STOPPED` notification for a completed order, due now."""
        found = self.store.orders.get(order_id)
        record = self.store.checkouts.get(order_id)
        if found is None or record is None or found[0].merchant_id != merchant.merchant_id:
            raise NoSuchOrder(f"Order {order_id} not found")
        url = record.order.merchant_urls.notification
        if not url:
            raise BadValue("merchant_urls.notification", "the order has no notification URL")
        now: datetime = self.clock.now(merchant.merchant_id)
        stop = FraudStop(order_id=order_id, callback_id=self.new_id())
        event = {"order_id": order_id, "event_type": stop.event_type}
        callback = Callback(
            callback_id=stop.callback_id,
            order_id=order_id,
            merchant_id=merchant.merchant_id,
            kind=CallbackKind.NOTIFICATION,
            url=expand_url(url, order_id, order_url(base_url, order_id)),
            body=_encode(event),
            starts_at=now,
            next_attempt_at=now,
        )
        self.store.outbox.enqueue(callback, now)
        return stop
