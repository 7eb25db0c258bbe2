"""An order's event log: merchant callbacks, purchase outcomes and every API call on the order.

API calls are many and diagnostic, so they are buffered (`buffer`) rather than committed one by
one: on SQLite the buffer is written inside the next write transaction (`Database.ride_along`,
wired by the `Store`), as SQLite has one writer and a commit of the log's own would make orders
wait; on any engine it is written when it reaches `batch` entries, by `flush` (the delivery
worker's rounds, before an order's events are read, at shutdown). A crash can lose the last
unwritten entries; the log is a diagnostic record, not part of any order's state.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, select

from kco_sandbox.store.engine import Database, sqlite_time, utc
from kco_sandbox.store.tables import order_events

_encode = msgspec.json.Encoder().encode


class EventLog:
    def __init__(self, db: Database, batch: int = 200) -> None:
        self.db = db
        self._batch = batch
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, order_id: str, at: datetime, kind: str, detail: dict[str, Any]) -> None:
        """One event, committed now."""
        with self.db.write() as conn:
            self.add_on(conn, order_id, at, kind, detail)

    def add_on(
        self, conn: Connection, order_id: str, at: datetime, kind: str, detail: dict[str, Any]
    ) -> None:
        """One event inside the caller's transaction."""
        self._insert(conn, [{"order_id": order_id, "at": at, "kind": kind, "detail": detail}])

    def buffer(self, order_id: str, at: datetime, kind: str, detail: dict[str, Any]) -> None:
        """One event to write later (see the module docstring)."""
        entry = {"order_id": order_id, "at": at, "kind": kind, "detail": detail}
        with self._lock:
            self._pending.append(entry)
            full = len(self._pending) >= self._batch
        if full:
            self.flush()

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            batch, self._pending = self._pending, []
        return batch

    def write_buffered_on(self, conn: Connection) -> None:
        """Write what is buffered inside the caller's transaction."""
        entries = self._take()
        if entries:
            self._insert(conn, entries)

    def flush(self) -> None:
        """Write what is buffered, in a transaction of its own."""
        entries = self._take()
        if entries:
            with self.db.write() as conn:
                self._insert(conn, entries)

    def _insert(self, conn: Connection, entries: list[dict[str, Any]]) -> None:
        # Through the driver's own `executemany`: this runs for every API call on an order, and
        # the Core insert's per-row processing cost more than a read.
        if self.db.is_sqlite:
            marks = "?, ?, ?, ?"
            rows: list[tuple[Any, ...]] = [
                (e["order_id"], sqlite_time(e["at"]), e["kind"], _encode(e["detail"]).decode())
                for e in entries
            ]
        else:
            marks = "%s, %s, %s, %s"
            rows = [
                (e["order_id"], e["at"], e["kind"], _encode(e["detail"]).decode()) for e in entries
            ]
        statement = f"INSERT INTO order_events (order_id, at, kind, detail) VALUES ({marks})"
        conn.exec_driver_sql(statement, rows)

    def list(self, order_id: str) -> list[dict[str, Any]]:
        """The order's events, oldest first, as `{"at", "kind", **detail}`."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(order_events)
                .where(order_events.c.order_id == order_id)
                .order_by(order_events.c.event_id)
            ).all()
        return [
            {"at": utc(row.at), "kind": row.kind, **msgspec.json.decode(row.detail)} for row in rows
        ]
