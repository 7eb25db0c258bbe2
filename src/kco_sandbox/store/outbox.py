"""The callback outbox: rows written with the state change that causes them, claimed by workers.

A callback row is inserted in the same transaction as the purchase it reports, with its request
frozen (URL and body), so nothing is sent before the purchase commits and nothing is lost if the
process dies after it. Workers claim due rows with a lease (`locked_until`): on PostgreSQL the
claim skips rows another worker holds (`FOR UPDATE SKIP LOCKED`), on SQLite the write lock already
serialises claims. Leases are wall-clock time (the platform clock can jump): a crashed worker's
lease runs out once its attempt would have timed out, and the row is claimed again: delivery is
at least once. Each attempt is recorded as its own row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from kco_sandbox.domain.delivery import Attempt, Callback, CallbackKind, CallbackStatus
from kco_sandbox.store.engine import Database, utc
from kco_sandbox.store.tables import callback_attempts, callbacks


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue_on(self, conn: Connection, callback: Callback, now: datetime) -> None:
        """Add `callback` inside the caller's transaction."""
        conn.execute(
            insert(callbacks),
            {
                "callback_id": callback.callback_id,
                "order_id": callback.order_id,
                "merchant_id": callback.merchant_id,
                "kind": callback.kind.value,
                "url": callback.url,
                "body": callback.body.decode(),
                "status": callback.status.value,
                "attempts": callback.attempts,
                "starts_at": self.db.time(callback.starts_at),
                "next_attempt_at": self.db.time(callback.next_attempt_at),
                "created_at": self.db.time(now),
            },
        )

    def enqueue(self, callback: Callback, now: datetime) -> None:
        """Add `callback` in a transaction of its own."""
        with self.db.write() as conn:
            self.enqueue_on(conn, callback, now)

    def claim_due(
        self, now: datetime, wall: datetime, lease: timedelta, limit: int
    ) -> list[Callback]:
        """Take up to `limit` callbacks due at platform time `now` that no one holds at
        wall-clock time `wall`, holding them until `wall + lease`."""
        at = self.db.time(now)
        held = self.db.time(wall)
        with self.db.write() as conn:
            ids = (
                conn.execute(
                    select(callbacks.c.callback_id)
                    .where(
                        callbacks.c.status == CallbackStatus.PENDING.value,
                        callbacks.c.next_attempt_at <= at,
                        or_(callbacks.c.locked_until.is_(None), callbacks.c.locked_until < held),
                    )
                    .order_by(callbacks.c.next_attempt_at, callbacks.c.callback_id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            if not ids:
                return []
            conn.execute(
                update(callbacks)
                .where(callbacks.c.callback_id.in_(ids))
                .values(locked_until=self.db.time(wall + lease))
            )
            rows = conn.execute(select(callbacks).where(callbacks.c.callback_id.in_(ids))).all()
        rows = sorted(rows, key=lambda r: (r.next_attempt_at, r.callback_id))
        return [_callback(row) for row in rows]

    def record(
        self,
        callback: Callback,
        attempts: Sequence[Attempt],
        status: CallbackStatus,
        next_attempt_at: datetime | None,
    ) -> None:
        """After a claimed callback's attempts (none: a decision not to make one), in one
        transaction: record them, set where the callback stands, and release the lease."""
        with self.db.write() as conn:
            for attempt in attempts:
                conn.execute(
                    insert(callback_attempts),
                    {
                        "callback_id": callback.callback_id,
                        "order_id": callback.order_id,
                        "started_at": self.db.time(attempt.started_at),
                        "status_code": attempt.status_code,
                        "duration_ms": attempt.duration_ms,
                        "error": attempt.error,
                    },
                )
            conn.execute(
                update(callbacks)
                .where(callbacks.c.callback_id == callback.callback_id)
                .values(
                    status=status.value,
                    attempts=callback.attempts + len(attempts),
                    next_attempt_at=self.db.time(next_attempt_at),
                    locked_until=None,
                )
            )

    def next_due_at(self) -> datetime | None:
        with self.db.read() as conn:
            value = conn.execute(
                select(func.min(callbacks.c.next_attempt_at)).where(
                    callbacks.c.status == CallbackStatus.PENDING.value
                )
            ).scalar()
        return utc(value) if value is not None else None

    def pending_count(self) -> int:
        """Callbacks still to be attempted, due or not."""
        with self.db.read() as conn:
            count = conn.execute(
                select(func.count()).where(callbacks.c.status == CallbackStatus.PENDING.value)
            ).scalar()
        return int(count or 0)

    def due_count(self, now: datetime) -> int:
        """Callbacks due at `now`, held by a worker or not."""
        with self.db.read() as conn:
            count = conn.execute(
                select(func.count()).where(
                    callbacks.c.status == CallbackStatus.PENDING.value,
                    callbacks.c.next_attempt_at <= self.db.time(now),
                )
            ).scalar()
        return int(count or 0)

    def attempt_count(self) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(select(func.count()).select_from(callback_attempts)).scalar() or 0
            )

    def list_callbacks(self, order_id: str | None = None) -> list[dict[str, Any]]:
        query = select(callbacks).order_by(callbacks.c.created_at, callbacks.c.callback_id)
        if order_id is not None:
            query = query.where(callbacks.c.order_id == order_id)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "callback_id": row.callback_id,
                "order_id": row.order_id,
                "kind": row.kind,
                "url": row.url,
                "status": row.status,
                "attempts": row.attempts,
                "next_attempt_at": utc(row.next_attempt_at) if row.next_attempt_at else None,
            }
            for row in rows
        ]

    def attempts_for(self, order_id: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(callback_attempts, callbacks.c.kind, callbacks.c.url)
                .join(callbacks, callbacks.c.callback_id == callback_attempts.c.callback_id)
                .where(callback_attempts.c.order_id == order_id)
                .order_by(callback_attempts.c.attempt_id)
            ).all()
        return [
            {
                "at": utc(row.started_at),
                "kind": f"{row.kind}.attempt",
                "callback_id": row.callback_id,
                "url": row.url,
                "status": row.status_code,
                "duration_ms": row.duration_ms,
                "error": row.error,
            }
            for row in rows
        ]


def _callback(row: Any) -> Callback:
    return Callback(
        callback_id=row.callback_id,
        order_id=row.order_id,
        merchant_id=row.merchant_id,
        kind=CallbackKind(row.kind),
        url=row.url,
        body=row.body.encode(),
        starts_at=utc(row.starts_at),
        next_attempt_at=utc(row.next_attempt_at) if row.next_attempt_at else None,
        attempts=row.attempts,
        status=CallbackStatus(row.status),
    )
