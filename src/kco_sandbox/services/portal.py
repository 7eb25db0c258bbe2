"""The merchant portal's reads: a merchant's orders a page at a time, one order with its Order
Management side, and what the landing page says about the running platform.

Every read is scoped to the signed-in merchant: another merchant's order does not exist here
(`NotFound`, the same answer as an id that names nothing). Times are the merchant's own clock,
so an order the merchant's moved clock has expired shows as expired. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.errors import NotFound
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management import lifecycle
from kco_sandbox.domain.order_management.order import OmOrder, OmOrderView
from kco_sandbox.services.delivery import without_query
from kco_sandbox.store import Store
from kco_sandbox.store.checkouts import Listing, ListKey

PAGE_SIZE: Final = 50
MAX_SEARCH: Final = 255  # as long as a reference may be
# The list's status filter: what a merchant sees as an order's state, by the value in the URL.
STATUS_FILTERS: Final[dict[str, str]] = {
    "checkout_incomplete": "Incomplete",
    "checkout_complete": "Complete",
    "aborted": "Aborted",
    "expired": "Expired",
}


def state_of(record: CheckoutRecord, now: datetime) -> str:
    """The order's state as the portal names it: `expired` once an open or aborted order's
    lifetime has ended (the API then answers 404), else its stored status."""
    if record.is_expired(now):
        return "expired"
    return record.status.value


@dataclass(frozen=True, slots=True)
class OrderRow:
    record: CheckoutRecord
    state: str  # a key of `STATUS_FILTERS`
    om_status: str | None  # the Order Management status once completed
    fraud_status: str | None


@dataclass(frozen=True, slots=True)
class OrdersQuery:
    status: str | None = None  # a key of `STATUS_FILTERS`; anything else: every status
    search: str | None = None  # a prefix of the order id or a merchant reference
    before: str | None = None  # a page's `older` cursor
    after: str | None = None  # a page's `newer` cursor
    limit: int = PAGE_SIZE


@dataclass(frozen=True, slots=True)
class OrdersPage:
    rows: list[OrderRow]  # newest first
    newer: str | None  # the cursor of the page before this one (None: this is the newest)
    older: str | None  # the cursor of the page after this one (None: this is the oldest)
    now: datetime  # the merchant's time the page was read at


@dataclass(frozen=True, slots=True)
class OrderView:
    record: CheckoutRecord
    state: str
    om: OmOrderView | None  # the Order Management order and its lists, once completed
    now: datetime
    # Its push and notification callbacks: where each stands and when it is tried next.
    callbacks: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class PortalService:
    store: Store
    clock: MerchantClocks

    def orders(self, merchant: Merchant, query: OrdersQuery) -> OrdersPage:
        """A page of `merchant`'s orders, newest first. A cursor that is not one this gave, or a
        status filter it does not know, reads as absent: a stale link shows the newest orders."""
        now = self.clock.now(merchant.merchant_id)
        listing = self._listing(merchant, query, now)
        before, after = _key(query.before), _key(query.after)
        if after is not None:
            before = None
        page = self.store.checkouts.list_page(listing, query.limit, before=before, after=after)
        records = page.records
        first = ListKey.of(records[0]).encode() if records else None
        last = ListKey.of(records[-1]).encode() if records else None
        if after is not None:
            newer, older = (first if page.more else None), last
        else:
            newer, older = (first if before is not None else None), (last if page.more else None)
        completed = [r.order_id for r in records if r.status is CheckoutStatus.CHECKOUT_COMPLETE]
        managed = self.store.checkouts.management_orders(merchant.merchant_id, completed)
        rows = [_row(record, managed.get(record.order_id), now) for record in records]
        return OrdersPage(rows=rows, newer=newer, older=older, now=now)

    def order(self, merchant: Merchant, order_id: str) -> OrderView:
        """`merchant`'s order `order_id`, expired or not, with its Order Management order."""
        record = self.store.checkouts.get(order_id) if order_id.isprintable() else None
        if record is None or record.merchant_id != merchant.merchant_id:
            raise NotFound(f"Order {order_id} not found")
        now = self.clock.now(merchant.merchant_id)
        found = self.store.orders.view(order_id)
        om = (
            found if found is not None and found.order.merchant_id == merchant.merchant_id else None
        )
        callbacks = [
            {**callback, "url": without_query(callback["url"])}
            for callback in self.store.outbox.list_callbacks(order_id)
        ]
        return OrderView(
            record=record, state=state_of(record, now), om=om, now=now, callbacks=callbacks
        )

    def database(self) -> str:
        """The database engine's name (`sqlite`, `postgresql`): never its URL, which may hold a
        password."""
        return self.store.engine.dialect.name

    @staticmethod
    def _listing(merchant: Merchant, query: OrdersQuery, now: datetime) -> Listing:
        search = (query.search or "").strip()[:MAX_SEARCH] or None
        if search is not None and not search.isprintable():
            search = None  # PostgreSQL refuses a NUL; no id or reference holds a control character
        base = Listing(merchant.merchant_id, search=search)
        match query.status:
            case "checkout_incomplete":
                statuses = frozenset({CheckoutStatus.CHECKOUT_INCOMPLETE})
                return _with(base, statuses=statuses, live_at=now)
            case "aborted":
                return _with(base, statuses=frozenset({CheckoutStatus.ABORTED}), live_at=now)
            case "checkout_complete":
                return _with(base, statuses=frozenset({CheckoutStatus.CHECKOUT_COMPLETE}))
            case "expired":
                statuses = frozenset({CheckoutStatus.CHECKOUT_INCOMPLETE, CheckoutStatus.ABORTED})
                return _with(base, statuses=statuses, expired_at=now)
            case _:
                return base


def _with(
    base: Listing,
    statuses: frozenset[CheckoutStatus],
    live_at: datetime | None = None,
    expired_at: datetime | None = None,
) -> Listing:
    return Listing(
        base.merchant_id,
        statuses=statuses,
        live_at=live_at,
        expired_at=expired_at,
        search=base.search,
    )


def _key(token: str | None) -> ListKey | None:
    if not token:
        return None
    try:
        return ListKey.decode(token)
    except ValueError:
        return None


def _row(record: CheckoutRecord, om: OmOrder | None, now: datetime) -> OrderRow:
    if om is not None:
        return OrderRow(
            record=record,
            state=state_of(record, now),
            om_status=lifecycle.status(om, now).value,
            fraud_status=lifecycle.fraud_status(om, now).value,
        )
    return OrderRow(
        record=record,
        state=state_of(record, now),
        om_status=None,
        fraud_status=record.session.fraud_status,
    )
