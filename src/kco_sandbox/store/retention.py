"""Deleting what the retention window has passed: orders with everything recorded about them,
and idempotency keys and unused customer tokens on their own.

What is old enough is decided by `services/retention.py` (with `domain/retention.py`); this module
finds candidates and deletes, each transaction bounded:

- an order's events and callback attempts, which can be many, go first, at most `batch` rows a
  transaction;
- then, in one transaction, the checkout order, its Order Management order (only if it is still
  at the version the decision was made on: a change since then keeps it) with its captures and
  refunds, its callbacks and idempotency keys, and any event written meanwhile. Until that
  commits the order is whole and answers as before; a crash in between leaves it for the next
  run. The captures and refunds cannot go first, in batches of their own, as the events do: an
  order kept for a change since the decision keeps them all.

Callbacks go with their order whatever their state: by the time an order is past the window its
push schedule (48 hours) is long over. A worker that held one of them while it went records its
attempt on no callback, and the next run deletes that row with the rest of the order's.

A customer token goes when it was last used (minted, charged, its status changed) before the
cutoff, whatever became of the order that minted it. The delete re-checks `last_used_at`, so a
token charged between the select and the delete stays (a charge marks the token used in its own
transaction, before it opens anything).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy import Column, Connection, Table, delete, select, tuple_

from kco_sandbox.domain.checkout.lifecycle import EXPIRES
from kco_sandbox.domain.order_management.order import OmOrder
from kco_sandbox.store.engine import Database
from kco_sandbox.store.tables import (
    callback_attempts,
    callbacks,
    checkout_orders,
    customer_tokens,
    disputes,
    hpp_distributions,
    hpp_sessions,
    idempotency_keys,
    merchants,
    om_captures,
    om_orders,
    om_refunds,
    order_events,
)

_decode_order = msgspec.json.Decoder(OmOrder).decode


@dataclass(slots=True)
class Removed:
    """Rows deleted, by kind."""

    orders: int = 0
    om_orders: int = 0
    events: int = 0
    callbacks: int = 0
    attempts: int = 0
    idempotency_keys: int = 0
    tokens: int = 0  # customer tokens
    payouts: int = 0  # settlement payouts, with their transactions

    def add(self, other: Removed) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def total(self) -> int:
        return sum(getattr(self, name) for name in self.__slots__)


@dataclass(frozen=True, slots=True)
class OmCandidate:
    order_id: str
    version: int
    order: OmOrder


@dataclass(frozen=True, slots=True)
class Doomed:
    """An order to delete; `om_version` None: it has no Order Management order."""

    order_id: str
    om_version: int | None = None


class Retention:
    def __init__(self, db: Database) -> None:
        self.db = db

    def merchant_ids(self) -> list[str]:
        with self.db.read() as conn:
            return list(conn.execute(select(merchants.c.merchant_id)).scalars())

    def expired_checkouts(self, merchant_id: str, before: datetime, limit: int) -> list[str]:
        """Up to `limit` of the merchant's never-completed checkouts that expired before
        `before`."""
        table = checkout_orders
        query = (
            select(table.c.order_id)
            .where(
                table.c.merchant_id == merchant_id,
                table.c.expires_at < self.db.time(before),
                table.c.status.in_([status.value for status in EXPIRES]),
            )
            .order_by(table.c.expires_at, table.c.order_id)
            .limit(limit)
        )
        with self.db.read() as conn:
            return list(conn.execute(query).scalars())

    def om_orders_created_before(
        self, merchant_id: str, before: datetime, after_id: str, limit: int
    ) -> list[OmCandidate]:
        """Up to `limit` of the merchant's Order Management orders opened before `before` (none
        can have finished before it opened), by id after `after_id`."""
        query = (
            select(om_orders.c.order_id, om_orders.c.version, om_orders.c.document)
            .where(
                om_orders.c.merchant_id == merchant_id,
                om_orders.c.created_at < self.db.time(before),
                om_orders.c.order_id > after_id,
            )
            .order_by(om_orders.c.order_id)
            .limit(limit)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [OmCandidate(row.order_id, row.version, _decode_order(row.document)) for row in rows]

    def delete_orders(self, doomed: Sequence[Doomed], batch: int) -> Removed:
        """Delete each order with everything recorded about it (see the module docstring)."""
        removed = Removed()
        if not doomed:
            return removed
        ids = [d.order_id for d in doomed]
        removed.events += self._drain(order_events, order_events.c.event_id, ids, batch)
        removed.attempts += self._drain(
            callback_attempts, callback_attempts.c.attempt_id, ids, batch
        )
        with self.db.write() as conn:
            kept = [d.order_id for d in doomed if not self._delete_om(conn, d, removed)]
            gone = [order_id for order_id in ids if order_id not in kept]
            if not gone:
                return removed
            removed.events += _delete_for(conn, order_events, gone)
            removed.attempts += _delete_for(conn, callback_attempts, gone)
            removed.callbacks += _delete_for(conn, callbacks, gone)
            removed.idempotency_keys += _delete_for(conn, idempotency_keys, gone)
            removed.orders += _delete_for(conn, checkout_orders, gone)
            # The order's Hosted Payment Page sessions and their distributions go with it.
            _delete_for(conn, hpp_sessions, gone)
            _delete_for(conn, hpp_distributions, gone)
            _delete_for(conn, disputes, gone)  # the sandbox's disputes on it (webhooks)
        return removed

    def _delete_om(self, conn: Connection, doomed: Doomed, removed: Removed) -> bool:
        """Delete the order's Order Management order if it is still at the version judged;
        False if it changed since (the order is kept)."""
        if doomed.om_version is None:
            return True
        count = conn.execute(
            delete(om_orders).where(
                om_orders.c.order_id == doomed.order_id,
                om_orders.c.version == doomed.om_version,
            )
        ).rowcount
        removed.om_orders += count
        if count:
            # One range of each table's key (order_id, seq).
            for ledger in (om_captures, om_refunds):
                conn.execute(delete(ledger).where(ledger.c.order_id == doomed.order_id))
        return bool(count)

    def _drain(self, table: Table, key: Column[int], ids: list[str], batch: int) -> int:
        """Delete `table`'s rows of the orders `ids`, `batch` rows a transaction."""
        total = 0
        while True:
            with self.db.write() as conn:
                some = select(key).where(table.c.order_id.in_(ids)).limit(batch).scalar_subquery()
                count = conn.execute(delete(table).where(key.in_(some))).rowcount
            total += count
            if count < batch:
                return total

    def delete_keys_before(self, merchant_id: str, before: datetime, limit: int) -> int:
        """Delete up to `limit` of the merchant's idempotency keys recorded before `before`."""
        table = idempotency_keys
        columns = (table.c.merchant_id, table.c.idempotency_key, table.c.scope)
        with self.db.write() as conn:
            rows = conn.execute(
                select(*columns)
                .where(
                    table.c.merchant_id == merchant_id, table.c.created_at < self.db.time(before)
                )
                .limit(limit)
            ).all()
            if not rows:
                return 0
            keys = [tuple(row) for row in rows]
            return int(conn.execute(delete(table).where(tuple_(*columns).in_(keys))).rowcount)

    def delete_tokens_unused_before(self, merchant_id: str, before: datetime, limit: int) -> int:
        """Delete up to `limit` of the merchant's customer tokens last used before `before`."""
        table = customer_tokens
        unused = (table.c.merchant_id == merchant_id, table.c.last_used_at < self.db.time(before))
        with self.db.write() as conn:
            some = list(conn.execute(select(table.c.token).where(*unused).limit(limit)).scalars())
            if not some:
                return 0
            return int(conn.execute(delete(table).where(table.c.token.in_(some), *unused)).rowcount)


def _delete_for(conn: Connection, table: Table, ids: list[str]) -> int:
    return int(conn.execute(delete(table).where(table.c.order_id.in_(ids))).rowcount)
