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

from kco_sandbox.clock import Clock
from kco_sandbox.domain import faults as fault_state
from kco_sandbox.domain.checkout.record import order_url
from kco_sandbox.domain.delivery import Callback, CallbackKind
from kco_sandbox.domain.errors import BadValue, NoSuchOrder, NotFound
from kco_sandbox.domain.faults import Faults
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.purchase.cart import expand_url
from kco_sandbox.ids import IdFactory
from kco_sandbox.store import Store

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class FraudStop:
    order_id: str
    callback_id: str
    event_type: str = "FRAUD_RISK_STOPPED"


@dataclass(frozen=True, slots=True)
class SandboxService:
    store: Store
    clock: Clock
    new_id: IdFactory

    def record_api_call(
        self, order_id: str, method: str, path: str, status: int, correlation_id: str
    ) -> None:
        """An inbound API call on an order joins its timeline (buffered, see `store/events.py`)."""
        detail = {
            "method": method,
            "path": path,
            "status": status,
            "correlation_id": correlation_id,
        }
        self.store.events.buffer(order_id, self.clock.now(), "api.call", detail)

    def flush_api_calls(self) -> None:
        self.store.events.flush()

    def order_events(self, merchant: Merchant, order_id: str) -> list[dict[str, Any]]:
        """Everything recorded on an order, oldest first: API calls, merchant callbacks, purchase
        outcomes and push or notification attempts, as `{"at", "kind", ...}`."""
        record = self.store.checkouts.get(order_id)
        if record is None or record.merchant_id != merchant.merchant_id:
            raise NotFound(f"Order {order_id} not found")
        self.store.events.flush()
        events = self.store.events.list(order_id) + self.store.outbox.attempts_for(order_id)
        # Python's sort is stable: same-instant events keep their order within each source.
        return sorted(events, key=lambda event: event["at"])

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
        now: datetime = self.clock.now()
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
