"""Hosted Payment Page sessions (`hpp_sessions`, migration 0014) and their distributions.

A status change writes the session only if the version it read is still current, and in the
same transaction queues its `status_update` callback in the outbox and notes the change on the
Checkout order's timeline, so a session never changes without its callback, or the reverse.

`complete_on` is the one line `Store.complete_checkout` runs in its transaction: whatever path
completed the Checkout order (the session's page, the plain hosted checkout, the sandbox's
headless completion), its open sessions become COMPLETED with it.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import Column, Connection, RowMapping, func, insert, select, update

from kco_sandbox.domain.hpp import (
    OPEN,
    HppMerchantUrls,
    HppOptions,
    HppSession,
    HppStatus,
    status_callback,
    view,
)
from kco_sandbox.ids import IdFactory, new_uuid
from kco_sandbox.store.engine import Database, utc
from kco_sandbox.store.events import EventLog
from kco_sandbox.store.outbox import Outbox
from kco_sandbox.store.tables import hpp_distributions, hpp_sessions

_encode = msgspec.json.Encoder().encode
_decode_urls = msgspec.json.Decoder(HppMerchantUrls).decode
_decode_options = msgspec.json.Decoder(HppOptions).decode
STATUS_EVENT = "hpp.status"


class HppSessions:
    def __init__(
        self, db: Database, outbox: Outbox, events: EventLog, new_id: IdFactory = new_uuid
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.events = events
        self.new_id = new_id  # event and callback ids of status callbacks

    def add(self, session: HppSession) -> None:
        with self.db.write() as conn:
            conn.execute(
                insert(hpp_sessions),
                {
                    "session_id": session.session_id,
                    "short_id": session.short_id,
                    "merchant_id": session.merchant_id,
                    "order_id": session.order_id,
                    "status": session.status.value,
                    "version": session.version,
                    "merchant_urls": _encode(session.merchant_urls).decode(),
                    "options": _encode(session.options).decode(),
                    "klarna_reference": session.klarna_reference,
                    "created_at": self.db.time(session.created_at),
                    "updated_at": self.db.time(session.updated_at),
                    "expires_at": self.db.time(session.expires_at),
                },
            )
            self.events.add_on(
                conn,
                session.order_id,
                session.created_at,
                "hpp.created",
                {"session_id": session.session_id, "status": session.status.value},
            )

    def get(self, session_id: str) -> HppSession | None:
        return self._one(hpp_sessions.c.session_id, session_id)

    def by_short_id(self, short_id: str) -> HppSession | None:
        return self._one(hpp_sessions.c.short_id, short_id)

    def _one(self, column: Column[str], key: str) -> HppSession | None:
        if "\x00" in key:  # PostgreSQL refuses a NUL in a string; no stored id holds one
            return None
        with self.db.read() as conn:
            row = conn.execute(select(hpp_sessions).where(column == key)).mappings().first()
        return _session(row) if row is not None else None

    def save(self, before: HppSession, after: HppSession, note: str) -> bool:
        """Write `after` if `before`'s version is still current, with its status callback and a
        timeline event (`note` says what moved it); False if the session moved meanwhile."""
        with self.db.write() as conn:
            return self._save_on(conn, before, after, note)

    def _save_on(self, conn: Connection, before: HppSession, after: HppSession, note: str) -> bool:
        changed = conn.execute(
            update(hpp_sessions)
            .where(
                hpp_sessions.c.session_id == before.session_id,
                hpp_sessions.c.version == before.version,
            )
            .values(
                status=after.status.value,
                version=after.version,
                klarna_reference=after.klarna_reference,
                updated_at=self.db.time(after.updated_at),
            )
        ).rowcount
        if not changed:
            return False
        detail = {"session_id": after.session_id, "from": before.status.value, "by": note}
        self.events.add_on(
            conn, after.order_id, after.updated_at, STATUS_EVENT, detail | view(after)
        )
        callback = status_callback(after, self.new_id(), self.new_id())
        if callback is not None:
            self.outbox.enqueue_on(conn, callback, after.updated_at)
        return True

    def expire(self, session: HppSession, at: datetime) -> None:
        """End the session's life at `at` (the sandbox's control)."""
        with self.db.write() as conn:
            conn.execute(
                update(hpp_sessions)
                .where(hpp_sessions.c.session_id == session.session_id)
                .values(expires_at=self.db.time(at))
            )
            detail = {"session_id": session.session_id, "by": "sandbox"}
            self.events.add_on(conn, session.order_id, at, "hpp.expired", detail)

    def complete_on(
        self, conn: Connection, order_id: str, klarna_reference: str, at: datetime
    ) -> None:
        """Inside the caller's transaction (a checkout completing): the order's open sessions
        become COMPLETED, each with its status callback."""
        rows = (
            conn.execute(
                select(hpp_sessions).where(
                    hpp_sessions.c.order_id == order_id,
                    hpp_sessions.c.status.in_([status.value for status in OPEN]),
                )
            )
            .mappings()
            .all()
        )
        for row in rows:
            before = _session(row)
            after = before.completed(klarna_reference, at)
            if after is not None:
                self._save_on(conn, before, after, "order completed")

    def record_distribution(
        self, session: HppSession, method: str, at: datetime, detail: dict[str, object]
    ) -> None:
        """Record a distribution (what would have gone out) on the order's timeline."""
        with self.db.write() as conn:
            conn.execute(
                insert(hpp_distributions),
                {
                    "merchant_id": session.merchant_id,
                    "session_id": session.session_id,
                    "order_id": session.order_id,
                    "method": method,
                    "at": self.db.time(at),
                },
            )
            self.events.add_on(conn, session.order_id, at, "hpp.distribution", dict(detail))

    def distributions_since(self, merchant_id: str, method: str, since: datetime) -> int:
        """How many `method` distributions `merchant_id` made after `since`."""
        query = select(func.count()).where(
            hpp_distributions.c.merchant_id == merchant_id,
            hpp_distributions.c.method == method,
            hpp_distributions.c.at > self.db.time(since),
        )
        with self.db.read() as conn:
            return int(conn.execute(query).scalar() or 0)

    def count_of_order(self, order_id: str) -> tuple[int, int]:
        """How many sessions, and distributions of them, the Checkout order has."""
        sessions = select(func.count()).where(hpp_sessions.c.order_id == order_id)
        sent = select(func.count()).where(hpp_distributions.c.order_id == order_id)
        with self.db.read() as conn:
            return int(conn.execute(sessions).scalar() or 0), int(conn.execute(sent).scalar() or 0)


def _session(row: RowMapping) -> HppSession:
    return HppSession(
        session_id=row["session_id"],
        short_id=row["short_id"],
        merchant_id=row["merchant_id"],
        order_id=row["order_id"],
        status=HppStatus(row["status"]),
        merchant_urls=_decode_urls(row["merchant_urls"]),
        options=_decode_options(row["options"]),
        created_at=utc(row["created_at"]),
        updated_at=utc(row["updated_at"]),
        expires_at=utc(row["expires_at"]),
        klarna_reference=row["klarna_reference"],
        version=row["version"],
    )
