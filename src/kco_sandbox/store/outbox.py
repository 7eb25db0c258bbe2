"""The callback outbox: rows written with the state change that causes them, claimed by workers.

A callback row is inserted in the same transaction as the purchase it reports, with its request
frozen (URL and body), so nothing is sent before the purchase commits and nothing is lost if the
process dies after it. Workers claim due rows with a lease (`locked_until`): on PostgreSQL the
claim skips rows another worker holds (`FOR UPDATE SKIP LOCKED`), on SQLite the write lock already
serialises claims. Leases are wall-clock time (the platform clock can jump): a crashed worker's
lease runs out once its attempt would have timed out, and the row is claimed again: delivery is
at least once. Each attempt is recorded as its own row.

What is due depends on whose callback it is: each merchant has its own clock (see
`kco_sandbox.clock.MerchantClocks`), and `next_attempt_at` is in its merchant's time. `Due` says
when "now" is: one time for every merchant that never moved its clock, and one per merchant that
did, so a query has one clause more per merchant that moved its clock, not per merchant.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, insert, or_, select, update

from kco_sandbox.domain.delivery import Attempt, Callback, CallbackKind, CallbackStatus
from kco_sandbox.store.engine import Database, utc
from kco_sandbox.store.tables import callback_attempts, callbacks


@dataclass(frozen=True, slots=True)
class Due:
    """The outbox's "now": `default` for every merchant except those in `moved`, each of which
    is at its own time."""

    default: datetime
    moved: Mapping[str, datetime] = field(default_factory=dict)

    def now(self, merchant_id: str) -> datetime:
        return self.moved.get(merchant_id, self.default)


def _due(when: Due | datetime) -> Due:
    return when if isinstance(when, Due) else Due(when)


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _is_due(self, due: Due, merchant_id: str | None = None) -> ColumnElement[bool]:
        """Pending and due at `due` (only `merchant_id`'s, when given)."""
        pending = callbacks.c.status == CallbackStatus.PENDING.value
        at = callbacks.c.next_attempt_at
        if merchant_id is not None:
            return and_(
                pending,
                callbacks.c.merchant_id == merchant_id,
                at <= self.db.time(due.now(merchant_id)),
            )
        if not due.moved:
            return and_(pending, at <= self.db.time(due.default))
        clauses = [
            and_(callbacks.c.merchant_id.not_in(list(due.moved)), at <= self.db.time(due.default))
        ]
        clauses += [
            and_(callbacks.c.merchant_id == merchant, at <= self.db.time(now))
            for merchant, now in due.moved.items()
        ]
        return and_(pending, or_(*clauses))

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
                "target": callback.target,
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
        self,
        now: Due | datetime,
        wall: datetime,
        lease: timedelta | Mapping[CallbackKind, timedelta],
        limit: int,
        merchant_id: str | None = None,
    ) -> list[Callback]:
        """Take up to `limit` callbacks due at platform time `now` (only `merchant_id`'s, when
        given) that no one holds at wall-clock time `wall`, holding them until `wall + lease`
        (`lease` by kind when given per kind: each kind's attempt has a time-out of its own)."""
        held = self.db.time(wall)
        with self.db.write() as conn:
            ids = (
                conn.execute(
                    select(callbacks.c.callback_id)
                    .where(
                        self._is_due(_due(now), merchant_id),
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
                .values(locked_until=self._held_until(wall, lease))
            )
            rows = conn.execute(select(callbacks).where(callbacks.c.callback_id.in_(ids))).all()
        rows = sorted(rows, key=lambda r: (r.next_attempt_at, r.callback_id))
        return [_callback(row) for row in rows]

    def _held_until(
        self, wall: datetime, lease: timedelta | Mapping[CallbackKind, timedelta]
    ) -> Any:
        if isinstance(lease, timedelta):
            return self.db.time(wall + lease)
        longest = max(lease.values())
        whens = [
            (callbacks.c.kind == kind.value, self.db.time(wall + t)) for kind, t in lease.items()
        ]
        return case(*whens, else_=self.db.time(wall + longest))

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

    def due_merchants(
        self, now: Due | datetime, wall: datetime, exclude: Collection[str] = ()
    ) -> list[str]:
        """The merchants with callbacks due at `now` that no one holds at `wall`, but those in
        `exclude` (whose callbacks are being delivered already)."""
        held = self.db.time(wall)
        query = (
            select(callbacks.c.merchant_id)
            .distinct()
            .where(
                self._is_due(_due(now)),
                or_(callbacks.c.locked_until.is_(None), callbacks.c.locked_until < held),
            )
        )
        if exclude:
            query = query.where(callbacks.c.merchant_id.not_in(list(exclude)))
        with self.db.read() as conn:
            return sorted(str(m) for m in conn.execute(query).scalars().all())

    def next_due_at(
        self, now: Due | datetime | None = None, exclude: Collection[str] = ()
    ) -> datetime | None:
        """When the next pending callback falls due, in `now.default`'s time: a callback of a
        merchant whose clock is ahead by `d` falls due `d` earlier. Callbacks of merchants in
        `exclude` are left out."""
        due = _due(now) if now is not None else None
        moved = dict(due.moved) if due is not None else {}
        pending = callbacks.c.status == CallbackStatus.PENDING.value
        others = [callbacks.c.merchant_id.not_in(list(moved))] if moved else []
        if exclude:
            others.append(callbacks.c.merchant_id.not_in(list(exclude)))
        with self.db.read() as conn:
            first = conn.execute(
                select(func.min(callbacks.c.next_attempt_at)).where(pending, *others)
            ).scalar()
            ahead = [m for m in moved if m not in exclude]
            per_merchant = (
                conn.execute(
                    select(callbacks.c.merchant_id, func.min(callbacks.c.next_attempt_at))
                    .where(pending, callbacks.c.merchant_id.in_(ahead))
                    .group_by(callbacks.c.merchant_id)
                ).all()
                if ahead
                else []
            )
        times = [utc(first)] if first is not None else []
        if due is not None:
            times += [
                utc(at) - (moved[str(merchant)] - due.default)
                for merchant, at in per_merchant
                if at is not None
            ]
        return min(times) if times else None

    def pending_count(self) -> int:
        """Callbacks still to be attempted, due or not."""
        with self.db.read() as conn:
            count = conn.execute(
                select(func.count()).where(callbacks.c.status == CallbackStatus.PENDING.value)
            ).scalar()
        return int(count or 0)

    def due_count(self, now: Due | datetime, merchant_id: str | None = None) -> int:
        """Callbacks due at `now` (only `merchant_id`'s, when given), held by a worker or not."""
        with self.db.read() as conn:
            count = conn.execute(
                select(func.count()).where(self._is_due(_due(now), merchant_id))
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
        return [attempt_event(row) for row in rows]


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
        target=row.target,
    )


def attempt_event(row: Any) -> dict[str, Any]:
    """An attempt (a row of `callback_attempts` with its callback's `kind` and `url`) as an entry
    of the order's timeline."""
    return {
        "at": utc(row.started_at),
        "kind": f"{row.kind}.attempt",
        "callback_id": row.callback_id,
        "url": row.url,
        "status": row.status_code,
        "duration_ms": row.duration_ms,
        "error": row.error,
    }
