"""An order's event log: merchant callbacks, purchase outcomes and the merchant's API calls on
the order; and reading it, merged with the order's callback attempts, a page at a time.

API calls are many and diagnostic, so they are buffered (`buffer`) rather than committed one by
one: the buffer is written inside the next write transaction of this process, on either engine
(`Database.ride_along`, wired by the `Store`), as a commit of the log's own would cost a request
(and on SQLite make orders wait for the one writer); else by `flush` (the delivery worker's
rounds, before an order's events are read, at shutdown). `buffer` itself never writes: it runs
on the request's path, on the event loop; a buffer that reaches `batch` entries with no write
to take it along is written by a thread of its own. A crash can lose the last unwritten
entries; the log is a diagnostic record, not part of any order's state.

A buffered call names the merchant that made it, and is written only if the order exists and
belongs to that merchant: the check is part of the batched insert (`INSERT ... SELECT ... WHERE
EXISTS`), so the request that made the call never pays a read for it, and calls on made-up ids or
on another merchant's order write nothing.

Pages (`page`) are read in the order (time, source, row id): the event log before callback
attempts at the same instant, then insertion order. Both tables are read by keyset from the
cursor, each at most a page, through their `(order_id, time, id)` indexes, so a page costs the
same on an order with 20 events as on one with 200,000.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Column, ColumnElement, Connection, literal, select, tuple_

from kco_sandbox.store import journal
from kco_sandbox.store.background import Nudged
from kco_sandbox.store.engine import Database, sqlite_time, utc
from kco_sandbox.store.journal import JournalFilter, Mark
from kco_sandbox.store.outbox import attempt_event
from kco_sandbox.store.tables import callback_attempts, callbacks, checkout_orders, order_events
from kco_sandbox.store.webhooks import WEBHOOK_BODY, with_event

_encode = msgspec.json.Encoder().encode
# Sources, in the order same-instant events are listed.
_LOG, _ATTEMPTS = 0, 1


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last event's time, source and row id."""

    at: datetime
    source: int
    row_id: int

    def encode(self) -> str:
        text = f"{self.at.astimezone(UTC).isoformat()}|{self.source}|{self.row_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor `encode` made; `ValueError` for anything else."""
        try:
            padded = token + "=" * (-len(token) % 4)
            text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
            at_text, source_text, id_text = text.split("|")
            at = datetime.fromisoformat(at_text)
            source, row_id = int(source_text), int(id_text)
        except (binascii.Error, UnicodeError, ValueError) as exc:
            raise ValueError("not a cursor of this log") from exc
        if at.tzinfo is None or source not in (_LOG, _ATTEMPTS) or row_id < 0:
            raise ValueError("not a cursor of this log")
        return cls(at, source, row_id)


@dataclass(frozen=True, slots=True)
class Page:
    events: list[dict[str, Any]]
    next: Cursor | None  # None: this was the last page


class EventLog:
    def __init__(self, db: Database, batch: int = 200) -> None:
        self.db = db
        self._batch = batch
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flusher = Nudged("kco-event-log", self.flush)

    def add(self, order_id: str, at: datetime, kind: str, detail: dict[str, Any]) -> None:
        """One event, committed now."""
        with self.db.write() as conn:
            self.add_on(conn, order_id, at, kind, detail)

    def note_on_open_orders(
        self, merchant_id: str, at: datetime, kind: str, detail: dict[str, Any], limit: int
    ) -> int:
        """The same event on each of `merchant_id`'s orders that time still moves (a checkout
        not yet completed or expired at `at`, or an order with a callback still to be sent), at
        most `limit` of them (a bound on one write, not a choice: a merchant testing has a few);
        how many got it."""
        when = self.db.time(at)
        open_checkouts = select(checkout_orders.c.order_id).where(
            checkout_orders.c.merchant_id == merchant_id,
            checkout_orders.c.status == "checkout_incomplete",
            checkout_orders.c.expires_at > when,
        )
        waiting = select(callbacks.c.order_id).where(
            callbacks.c.merchant_id == merchant_id, callbacks.c.status == "pending"
        )
        with self.db.write() as conn:
            ids = sorted(set(conn.execute(open_checkouts.union(waiting)).scalars().all()))[:limit]
            for order_id in ids:
                self.add_on(conn, order_id, at, kind, detail)
        return len(ids)

    def add_on(
        self, conn: Connection, order_id: str, at: datetime, kind: str, detail: dict[str, Any]
    ) -> None:
        """One event inside the caller's transaction."""
        conn.execute(
            order_events.insert(),
            {
                "order_id": order_id,
                "at": self.db.time(at),
                "kind": kind,
                "detail": _encode(detail).decode(),
            },
        )

    def buffer(
        self, order_id: str, merchant_id: str, at: datetime, kind: str, detail: dict[str, Any]
    ) -> None:
        """One event to write later, if `merchant_id`'s order `order_id` exists then (see the
        module docstring)."""
        entry = {
            "order_id": order_id,
            "merchant_id": merchant_id,
            "at": at,
            "kind": kind,
            "detail": detail,
        }
        with self._lock:
            self._pending.append(entry)
            full = len(self._pending) >= self._batch
        if full:
            self._flusher.nudge()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            batch, self._pending = self._pending, []
        return batch

    def write_buffered_on(self, conn: Connection) -> None:
        """Write what is buffered inside the caller's transaction."""
        entries = self._take()
        if entries:
            self._insert_owned(conn, entries)

    def flush(self) -> None:
        """Write what is buffered, in a transaction of its own (on SQLite: perhaps shared with
        other writers')."""
        entries = self._take()
        if entries:
            with self.db.write() as conn:
                self._insert_owned(conn, entries)

    def close(self) -> None:
        """Stop the thread that writes a full buffer, then write what is left."""
        self._flusher.stop()
        self.flush()

    def _insert_owned(self, conn: Connection, entries: list[dict[str, Any]]) -> None:
        # Through the driver's own `executemany`: this runs for every API call on an order, and
        # the Core insert's per-row processing cost more than a read. The EXISTS is a primary key
        # look-up inside a write that happens anyway.
        if self.db.is_sqlite:
            mark = "?"
            rows: list[tuple[Any, ...]] = [
                (
                    e["order_id"],
                    sqlite_time(e["at"]),
                    e["kind"],
                    _encode(e["detail"]).decode(),
                    e["order_id"],
                    e["merchant_id"],
                )
                for e in entries
            ]
        else:
            mark = "%s"
            rows = [
                (
                    e["order_id"],
                    e["at"],
                    e["kind"],
                    _encode(e["detail"]).decode(),
                    e["order_id"],
                    e["merchant_id"],
                )
                for e in entries
            ]
        # PostgreSQL needs the types of parameters in a SELECT list; SQLite has no use for them.
        if self.db.is_sqlite:
            values = "?, ?, ?, ?"
        else:
            values = (
                "CAST(%s AS VARCHAR(36)), CAST(%s AS TIMESTAMP WITH TIME ZONE), "
                "CAST(%s AS VARCHAR(64)), CAST(%s AS TEXT)"
            )
        statement = (
            f"INSERT INTO order_events (order_id, at, kind, detail) SELECT {values} "
            f"WHERE EXISTS (SELECT 1 FROM checkout_orders WHERE order_id = {mark} "
            f"AND merchant_id = {mark})"
        )
        conn.exec_driver_sql(statement, rows)

    def page(self, order_id: str, limit: int, after: Cursor | None) -> Page:
        """Up to `limit` of the order's events and callback attempts after `after`, oldest
        first, as `{"at", "kind", ...}`."""
        with self.db.read() as conn:
            logged = self._log_page(conn, order_id, limit + 1, after)
            attempted = self._attempt_page(conn, order_id, limit + 1, after)
        merged = sorted(logged + attempted, key=lambda item: item[0])
        taken = merged[:limit]
        events = [event for _, event in taken]
        if len(merged) <= limit or not taken:
            return Page(events, None)
        at, source, row_id = taken[-1][0]
        return Page(events, Cursor(at, source, row_id))

    def _after(
        self,
        source: int,
        at_column: Column[datetime],
        id_column: Column[int],
        after: Cursor | None,
    ) -> ColumnElement[bool] | None:
        """The keyset condition for the rows of `source` that come after `after`."""
        if after is None:
            return None
        at = self.db.time(after.at)
        if source > after.source:
            return at_column >= at
        if source < after.source:
            return at_column > at
        # A row value comparison, not `at > a OR (at = a AND id > b)`: both engines then seek in
        # the (order_id, time, id) index instead of scanning the order's rows from the start.
        return tuple_(at_column, id_column) > tuple_(literal(at), literal(after.row_id))

    def _log_page(
        self, conn: Connection, order_id: str, limit: int, after: Cursor | None
    ) -> list[tuple[tuple[datetime, int, int], dict[str, Any]]]:
        table = order_events
        query = select(table.c.event_id, table.c.at, table.c.kind, table.c.detail).where(
            table.c.order_id == order_id
        )
        condition = self._after(_LOG, table.c.at, table.c.event_id, after)
        if condition is not None:
            query = query.where(condition)
        rows = conn.execute(query.order_by(table.c.at, table.c.event_id).limit(limit)).all()
        return [
            (
                (utc(row.at), _LOG, row.event_id),
                {"at": utc(row.at), "kind": row.kind, **msgspec.json.decode(row.detail)},
            )
            for row in rows
        ]

    def _attempt_page(
        self, conn: Connection, order_id: str, limit: int, after: Cursor | None
    ) -> list[tuple[tuple[datetime, int, int], dict[str, Any]]]:
        table = callback_attempts
        query = (
            select(table, callbacks.c.kind, callbacks.c.url, WEBHOOK_BODY)
            .join(callbacks, callbacks.c.callback_id == table.c.callback_id)
            .where(table.c.order_id == order_id)
        )
        condition = self._after(_ATTEMPTS, table.c.started_at, table.c.attempt_id, after)
        if condition is not None:
            query = query.where(condition)
        rows = conn.execute(query.order_by(table.c.started_at, table.c.attempt_id).limit(limit))
        return [
            (
                (utc(row.started_at), _ATTEMPTS, row.attempt_id),
                with_event(attempt_event(row), row),
            )
            for row in rows.all()
        ]

    # A merchant's journal across its orders (the queries are in `journal.py`).

    def journal(
        self, merchant_id: str, where: JournalFilter, limit: int, before: Cursor | None
    ) -> Page:
        """Up to `limit` of `merchant_id`'s API calls and callbacks (as `where` says) that come
        after `before`, newest first, as `{"id", "order_id", "at", "kind", ...}`; the next
        page's cursor, or None after the last."""
        key = (before.at, before.source, before.row_id) if before is not None else None
        with self.db.read() as conn:
            found = journal.newest(conn, self.db, merchant_id, where, limit + 1, key)
        taken = found[:limit]
        events = [event for _, event in taken]
        if len(found) <= limit or not taken:
            return Page(events, None)
        at, source, row_id = taken[-1][0]
        return Page(events, Cursor(at, source, row_id))

    def journal_since(
        self, merchant_id: str, where: JournalFilter, mark: Mark, limit: int
    ) -> tuple[list[dict[str, Any]], Mark]:
        """What was written for `merchant_id` after `mark` (at most `limit` a table), oldest
        first, and the mark to read from next (see `journal.since`)."""
        with self.db.read() as conn:
            found, after = journal.since(conn, self.db, merchant_id, where, mark, limit)
        return [event for _, event in found], after

    def journal_mark(self) -> Mark:
        """Where a live stream starting now begins: after everything written so far."""
        with self.db.read() as conn:
            return journal.latest(conn)

    def list(self, order_id: str) -> list[dict[str, Any]]:
        """All of the order's logged events (no callback attempts), oldest first, as
        `{"at", "kind", **detail}`: for the command line and tests; the API reads `page`s."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(order_events)
                .where(order_events.c.order_id == order_id)
                .order_by(order_events.c.event_id)
            ).all()
        return [
            {"at": utc(row.at), "kind": row.kind, **msgspec.json.decode(row.detail)} for row in rows
        ]
