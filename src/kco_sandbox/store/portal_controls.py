"""Storage behind the portal's order actions and sandbox page: a merchant's open checkouts, and
a pending fraud decision taken early.

`OpenCheckouts.page` reads one page of a merchant's incomplete, unexpired checkout orders, newest
first, by keyset on (started_at, order_id), so a merchant with 100,000 open orders costs the same
as one with 3.

`FraudDecisions.decide` writes an Order Management order whose pending decision was brought
forward, and moves the decision's notification (queued at purchase for the original due time) to
now with the new event type, in one transaction: the order and what the merchant is told can
never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import or_, select, tuple_, update

from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.delivery import CallbackKind, CallbackStatus
from kco_sandbox.domain.order_management.order import OmOrder
from kco_sandbox.store.engine import Database, utc
from kco_sandbox.store.tables import callbacks, checkout_orders, om_orders

_encode = msgspec.json.Encoder().encode
# The event types of a purchase's decision notification (services/purchase.py queues them).
DECISION_EVENTS = ("FRAUD_RISK_ACCEPTED", "FRAUD_RISK_REJECTED")


@dataclass(frozen=True, slots=True)
class OpenCheckout:
    order_id: str
    started_at: datetime
    expires_at: datetime
    order_amount: int
    purchase_currency: str
    purchase_country: str
    merchant_reference1: str | None


@dataclass(frozen=True, slots=True)
class OpenPage:
    orders: list[OpenCheckout]
    more: bool  # are there older open orders beyond this page?


class OpenCheckouts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def page(
        self,
        merchant_id: str,
        now: datetime,
        limit: int,
        before: tuple[datetime, str] | None = None,
    ) -> OpenPage:
        """Up to `limit` of `merchant_id`'s incomplete orders not expired at `now`, newest first,
        older than `before` (the last row of the previous page) when given."""
        table = checkout_orders
        query = select(
            table.c.order_id, table.c.started_at, table.c.expires_at, table.c.document
        ).where(
            table.c.merchant_id == merchant_id,
            table.c.status == CheckoutStatus.CHECKOUT_INCOMPLETE.value,
            table.c.expires_at > self.db.time(now),
        )
        if before is not None:
            at, order_id = before
            query = query.where(
                tuple_(table.c.started_at, table.c.order_id) < tuple_(self.db.time(at), order_id)
            )
        query = query.order_by(table.c.started_at.desc(), table.c.order_id.desc()).limit(limit + 1)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return OpenPage([_open(row) for row in rows[:limit]], len(rows) > limit)


def _open(row: Any) -> OpenCheckout:
    document: dict[str, Any] = msgspec.json.decode(row.document)
    reference = document.get("merchant_reference1")
    return OpenCheckout(
        order_id=row.order_id,
        started_at=utc(row.started_at),
        expires_at=utc(row.expires_at),
        order_amount=int(document.get("order_amount") or 0),
        purchase_currency=str(document.get("purchase_currency") or ""),
        purchase_country=str(document.get("purchase_country") or ""),
        merchant_reference1=str(reference) if reference is not None else None,
    )


class FraudDecisions:
    def __init__(self, db: Database) -> None:
        self.db = db

    def decide(
        self, order: OmOrder, expected_version: int, event_type: str, now: datetime
    ) -> int | None:
        """Write `order` (its decision now due) if still at `expected_version`, and make its
        pending decision notification say `event_type` and fall due at `now`. None if the order
        moved meanwhile; else the number of notifications moved (0: the order has no
        notification URL, so the vendor would tell nobody either)."""
        body = _encode({"order_id": order.order_id, "event_type": event_type}).decode()
        with self.db.write() as conn:
            changed = conn.execute(
                update(om_orders).where(
                    om_orders.c.order_id == order.order_id,
                    om_orders.c.version == expected_version,
                ),
                {"document": _encode(order).decode(), "version": expected_version + 1},
            ).rowcount
            if not changed:
                return None
            # Only the decision's own notification, never attempted (it was not due yet): a
            # FRAUD_RISK_STOPPED the merchant asked for is a notification of its own.
            moved = conn.execute(
                update(callbacks)
                .where(
                    callbacks.c.order_id == order.order_id,
                    callbacks.c.merchant_id == order.merchant_id,
                    callbacks.c.kind == CallbackKind.NOTIFICATION.value,
                    callbacks.c.status == CallbackStatus.PENDING.value,
                    callbacks.c.attempts == 0,
                    or_(*(callbacks.c.body.contains(f'"{name}"') for name in DECISION_EVENTS)),
                )
                .values(
                    body=body,
                    starts_at=self.db.time(now),
                    next_attempt_at=self.db.time(now),
                )
            ).rowcount
        return int(moved)
