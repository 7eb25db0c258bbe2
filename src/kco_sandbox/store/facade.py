"""`Store`: the one way into storage, over checkouts, orders, the outbox, events and state.

Each part is a class of its own over one `Database` (`engine.py`), which knows the engine
differences. What must happen in one transaction across parts (a purchase completing) is a method
here, so all-or-nothing is visible in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.customer_token import CustomerToken
from kco_sandbox.domain.delivery import Callback
from kco_sandbox.domain.order_management.order import OmOrder
from kco_sandbox.store.checkouts import Checkouts
from kco_sandbox.store.customer_tokens import CustomerTokens
from kco_sandbox.store.engine import Database, engine_for
from kco_sandbox.store.events import EventLog
from kco_sandbox.store.hpp_sessions import HppSessions
from kco_sandbox.store.merchants import Merchants
from kco_sandbox.store.orders import Orders
from kco_sandbox.store.outbox import Outbox
from kco_sandbox.store.retention import Retention
from kco_sandbox.store.settlements import Settlements
from kco_sandbox.store.state import PlatformState
from kco_sandbox.store.webhook_disputes import Disputes
from kco_sandbox.store.webhooks import Webhooks


class Store:
    def __init__(self, engine: Engine) -> None:
        self.db = Database(engine)
        self.checkouts = Checkouts(self.db)
        self.merchants = Merchants(self.db)
        self.outbox = Outbox(self.db)
        self.webhooks = Webhooks(self.db, self.outbox)
        self.orders = Orders(self.db, self.webhooks)
        self.tokens = CustomerTokens(self.db, self.orders)
        self.events = EventLog(self.db)
        self.hpp = HppSessions(self.db, self.outbox, self.events)
        self.state = PlatformState(self.db)
        self.retention = Retention(self.db)
        self.settlements = Settlements(self.db)
        self.disputes = Disputes(self.db, self.webhooks, self.settlements)
        # Buffered API calls are written with the next write (see `events.py`).
        self.db.ride_along = self.events.write_buffered_on

    @classmethod
    def for_url(cls, url: str, *, migrate: bool = True) -> Store:
        store = cls(engine_for(url))
        if migrate:
            store.db.upgrade()
        return store

    @property
    def engine(self) -> Engine:
        return self.db.engine

    @property
    def reads_are_local(self) -> bool:
        return self.db.reads_are_local

    def ping(self) -> None:
        """One `SELECT 1` on the reading connection; raises if the database does not answer."""
        with self.db.read() as conn:
            conn.exec_driver_sql("SELECT 1")

    def is_current(self) -> bool:
        return self.db.is_current()

    def hold_writer(self) -> AbstractContextManager[bool]:
        """Writes of this thread start at once while this holds True (see
        `Database.hold_writer`); False: they might wait, on a lock or a network."""
        return self.db.hold_writer()

    def close(self) -> None:
        self.events.close()
        self.db.close()

    def complete_checkout(
        self,
        after: CheckoutRecord,
        expected_version: int,
        opened: OmOrder,
        callbacks: Sequence[Callback],
        event: dict[str, Any],
        token: CustomerToken | None = None,
    ) -> bool:
        """Complete the checkout, open its Order Management order, mint its customer `token` (a
        recurring order's), queue its callbacks and record the completion: all in one
        transaction, or nothing. False if the checkout moved."""
        at: datetime = opened.created_at
        with self.db.write() as conn:
            if not self.checkouts.save_on(conn, after, expected_version):
                return False
            self.hpp.complete_on(conn, after.order_id, opened.klarna_reference, at)
            self.orders.open_on(conn, opened)
            if token is not None:
                self.tokens.add_on(conn, token)
            for callback in callbacks:
                self.outbox.enqueue_on(conn, callback, at)
            self.events.add_on(conn, after.order_id, at, "purchase.completed", event)
        return True
