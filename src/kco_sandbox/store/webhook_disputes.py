"""The sandbox's disputes: opened and moved by a test, each change a `dispute.*` webhook event.

A dispute and its event are written in one transaction (`Webhooks.emit_on`), so an event is
queued only for a change that committed. A dispute the merchant loses brings its settlement
reversal (the amount the shopper gets back, taken from the next payout) in the same
transaction: no lost dispute without its reversal, no reversal without the change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from kco_sandbox.domain.webhook import EventType
from kco_sandbox.domain.webhook_disputes import Dispute, DisputeStatus
from kco_sandbox.store.engine import Database, utc
from kco_sandbox.store.settlements import Settlements
from kco_sandbox.store.tables import disputes
from kco_sandbox.store.webhooks import Webhooks


class Disputes:
    def __init__(self, db: Database, webhooks: Webhooks, settlements: Settlements) -> None:
        self.db = db
        self.webhooks = webhooks
        self.settlements = settlements

    def open(self, dispute: Dispute, limit: int) -> bool:
        """Store `dispute` and queue its `dispute.created`; False if its order has `limit`."""
        with self.db.write() as conn:
            count = conn.execute(
                select(func.count()).where(disputes.c.order_id == dispute.order_id)
            ).scalar()
            if int(count or 0) >= limit:
                return False
            conn.execute(
                insert(disputes),
                {
                    "dispute_id": dispute.dispute_id,
                    "order_id": dispute.order_id,
                    "merchant_id": dispute.merchant_id,
                    "status": dispute.status.value,
                    "created_at": self.db.time(dispute.created_at),
                    "updated_at": self.db.time(dispute.updated_at),
                },
            )
            self._emit_on(conn, dispute, EventType.DISPUTE_CREATED)
        return True

    def get(self, order_id: str, dispute_id: str) -> Dispute | None:
        if not dispute_id.isprintable() or len(dispute_id) > 36:
            return None
        with self.db.read() as conn:
            row = conn.execute(
                select(disputes).where(
                    disputes.c.order_id == order_id, disputes.c.dispute_id == dispute_id
                )
            ).first()
        return _dispute(row) if row is not None else None

    def of_order(self, order_id: str) -> list[Dispute]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(disputes)
                .where(disputes.c.order_id == order_id)
                .order_by(disputes.c.created_at, disputes.c.dispute_id)
            ).all()
        return [_dispute(row) for row in rows]

    def change(
        self,
        dispute: Dispute,
        status: DisputeStatus,
        at: datetime,
        reversal: tuple[str, int] | None = None,
    ) -> Dispute | None:
        """Move `dispute` (as read) to `status` and queue its `dispute.updated`, with
        `reversal` (its id and amount) for the next payout when given; None if the dispute
        changed meanwhile. The same status again changes nothing and queues nothing."""
        if status is dispute.status:
            return dispute
        changed = replace(dispute, status=status, updated_at=at)
        with self.db.write() as conn:
            count = conn.execute(
                update(disputes)
                .where(
                    disputes.c.dispute_id == dispute.dispute_id,
                    disputes.c.status == dispute.status.value,
                )
                .values(status=status.value, updated_at=self.db.time(at))
            ).rowcount
            if not count:
                return None
            self._emit_on(conn, changed, EventType.DISPUTE_UPDATED)
            if reversal is not None:
                reversal_id, amount = reversal
                self.settlements.add_reversal_on(
                    conn, reversal_id, dispute.merchant_id, dispute.order_id, amount, at
                )
        return changed

    def _emit_on(self, conn: Any, dispute: Dispute, event_type: EventType) -> None:
        data = {"order_id": dispute.order_id, "dispute_id": dispute.dispute_id}
        self.webhooks.emit_on(conn, dispute.merchant_id, event_type, data, dispute.updated_at)


def _dispute(row: Any) -> Dispute:
    return Dispute(
        dispute_id=row.dispute_id,
        order_id=row.order_id,
        merchant_id=row.merchant_id,
        status=DisputeStatus(row.status),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )
