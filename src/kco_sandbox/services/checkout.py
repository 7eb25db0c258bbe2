"""Use-cases of the Checkout API. Each takes plain values, owns its transaction, returns a record.

The web layer authenticates and decodes; the domain decides; the store persists. Nothing here
knows about HTTP. Time is the order's merchant's own (`MerchantClocks`): a merchant moving its
clock expires its own orders, never another merchant's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain.callback_hosts import CALLED_URLS, HostPattern, refused_url_field
from kco_sandbox.domain.checkout.lifecycle import Action, require
from kco_sandbox.domain.checkout.order import CheckoutOrder
from kco_sandbox.domain.checkout.record import CheckoutRecord, as_document, build_order, new_record
from kco_sandbox.domain.errors import BadValue, NotFound
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
    clock: MerchantClocks
    new_id: IdFactory
    allow_http_callbacks: bool = True
    # Hosts the callback URLs may name (`--callback-host`); empty: any host.
    callback_hosts: tuple[HostPattern, ...] = ()

    def create_order(self, merchant: Merchant, body: Mapping[str, Any]) -> CheckoutRecord:
        order = build_order({}, body, markets_for(merchant.markets), self.allow_http_callbacks)
        self._check_callback_hosts(order)
        record = new_record(
            self.new_id(), merchant.merchant_id, order, self.clock.now(merchant.merchant_id)
        )
        self.store.checkouts.add(record)
        return record

    def read_order(self, merchant: Merchant, order_id: str) -> CheckoutRecord:
        # An id never holds a control character, and PostgreSQL refuses a NUL in a string: such
        # an id names no order, so it is not looked up.
        record = self.store.checkouts.get(order_id) if order_id.isprintable() else None
        if record is None:
            raise NotFound(f"Order {order_id} not found")
        return record.visible_to(merchant.merchant_id, self.clock.now(record.merchant_id))

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
            self._check_callback_hosts(order)
            updated = current.with_order(order, self.clock.now(current.merchant_id))
            if self.store.checkouts.save(updated, current.version):
                return updated
        raise RuntimeError(f"order {order_id} kept changing under {MAX_UPDATE_ATTEMPTS} updates")

    def abort_order(self, merchant: Merchant, order_id: str) -> CheckoutRecord:
        for _ in range(MAX_UPDATE_ATTEMPTS):
            current = self.read_order(merchant, order_id)
            aborted = current.aborted(self.clock.now(current.merchant_id))
            if self.store.checkouts.save(aborted, current.version):
                return aborted
        raise RuntimeError(f"order {order_id} kept changing under {MAX_UPDATE_ATTEMPTS} aborts")

    def _check_callback_hosts(self, order: CheckoutOrder) -> None:
        """A URL the platform will call must name an allowed host: a string check only, the
        addresses it resolves to are checked when it is called (`outbound/merchant_http.py`)."""
        urls = {name: getattr(order.merchant_urls, name) for name in CALLED_URLS}
        refused = refused_url_field(urls, self.callback_hosts)
        if refused is not None:
            raise BadValue(f"merchant_urls.{refused}")
