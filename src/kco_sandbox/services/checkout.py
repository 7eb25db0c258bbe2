"""Use-cases of the Checkout API. Each takes plain values, owns its transaction, returns a record.

The web layer authenticates and decodes; the domain decides; the store persists. Nothing here
knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kco_sandbox.clock import Clock
from kco_sandbox.domain.checkout.lifecycle import Action, require
from kco_sandbox.domain.checkout.record import CheckoutRecord, as_document, build_order, new_record
from kco_sandbox.domain.errors import NotFound
from kco_sandbox.domain.market import markets_for
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import IdFactory
from kco_sandbox.store import Store

# An update that loses the optimistic race this often in a row is answered with the last error;
# in practice a second try always wins because the loser re-reads the winner's version.
MAX_UPDATE_ATTEMPTS = 50


@dataclass(frozen=True, slots=True)
class CheckoutService:
    store: Store
    clock: Clock
    new_id: IdFactory
    allow_http_callbacks: bool = True

    def create_order(self, merchant: Merchant, body: Mapping[str, Any]) -> CheckoutRecord:
        order = build_order({}, body, markets_for(merchant.markets), self.allow_http_callbacks)
        record = new_record(self.new_id(), merchant.merchant_id, order, self.clock.now())
        self.store.checkouts.add(record)
        return record

    def read_order(self, merchant: Merchant, order_id: str) -> CheckoutRecord:
        # An id never holds a control character, and PostgreSQL refuses a NUL in a string: such
        # an id names no order, so it is not looked up.
        record = self.store.checkouts.get(order_id) if order_id.isprintable() else None
        if record is None:
            raise NotFound(f"Order {order_id} not found")
        return record.visible_to(merchant.merchant_id, self.clock.now())

    def update_order(
        self, merchant: Merchant, order_id: str, body: Mapping[str, Any]
    ) -> CheckoutRecord:
        markets = markets_for(merchant.markets)
        for _ in range(MAX_UPDATE_ATTEMPTS):
            current = self.read_order(merchant, order_id)
            require(Action.UPDATE, current.status)  # a read-only order answers 403 before 400
            order = build_order(
                as_document(current.order), body, markets, self.allow_http_callbacks
            )
            updated = current.with_order(order, self.clock.now())
            if self.store.checkouts.save(updated, current.version):
                return updated
        raise RuntimeError(f"order {order_id} kept changing under {MAX_UPDATE_ATTEMPTS} updates")

    def abort_order(self, merchant: Merchant, order_id: str) -> CheckoutRecord:
        for _ in range(MAX_UPDATE_ATTEMPTS):
            current = self.read_order(merchant, order_id)
            aborted = current.aborted(self.clock.now())
            if self.store.checkouts.save(aborted, current.version):
                return aborted
        raise RuntimeError(f"order {order_id} kept changing under {MAX_UPDATE_ATTEMPTS} aborts")
