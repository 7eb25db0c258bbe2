"""Settlement storage: payouts, their transactions, reversals waiting for a payout, and finding
what no payout holds yet.

What is still to settle is found, not flagged: the captures and refunds of the merchant's Order
Management orders (and its reversals) for which no settlement transaction exists yet (the unique
index on (`order_id`, `source_id`, `detailed_type`) answers that). The search starts `SLACK`
before the merchant's latest payout: everything older was settled by that payout or an earlier
one, and a capture whose commit raced the last run (made just before its cut-off, committed just
after it was settled) is still found. A run (`run`) reads and writes in one write transaction, so
what it plans from is what it writes over; two runs of the same cut-off (two readers at once, or
two processes) cannot both commit: the payout's (`merchant_id`, `currency_code`, `payout_date`)
and each transaction's source are unique, and the loser gets `AlreadySettled`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    delete,
    exists,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from kco_sandbox.domain.order_management.order import Capture, OmOrder, Refund
from kco_sandbox.domain.settlements.ledger import (
    PayoutDraft,
    Source,
    SourceKind,
    Totals,
    Transaction,
)
from kco_sandbox.domain.settlements.payout import Page, Payout, SettledTransaction
from kco_sandbox.store.engine import Database, utc
from kco_sandbox.store.tables import (
    om_captures,
    om_orders,
    om_refunds,
    settlement_payouts,
    settlement_reversals,
    settlement_transactions,
)

SLACK = timedelta(hours=1)  # how far before the latest payout the search for unsettled starts

_decode_order = msgspec.json.Decoder(OmOrder).decode
_decode_capture = msgspec.json.Decoder(Capture).decode
_decode_refund = msgspec.json.Decoder(Refund).decode
_decode_totals = msgspec.json.Decoder(Totals).decode
_decode_transaction = msgspec.json.Decoder(Transaction).decode
_encode = msgspec.json.Encoder().encode

Planner = Callable[[list[Source], datetime | None, dict[str, int]], list[PayoutDraft]]


class AlreadySettled(Exception):
    """Another run wrote one of these payouts or settled one of these sources first (or a
    payment reference was taken): nothing of this run was kept."""


def _unsettled(
    source_id: ColumnElement[str], order_id: ColumnElement[str], detailed_type: str
) -> ColumnElement[bool]:
    t = settlement_transactions.c
    return ~exists().where(
        t.order_id == order_id, t.source_id == source_id, t.detailed_type == detailed_type
    )


class Settlements:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Settling

    def latest_payout_date(self, merchant_id: str) -> datetime | None:
        with self.db.read() as conn:
            return self._latest_on(conn, merchant_id)

    def pending(self, merchant_id: str, before: datetime) -> list[Source]:
        """What no payout holds yet, made before `before` (see the module docstring)."""
        with self.db.read() as conn:
            return self._pending_on(conn, merchant_id, before, self._latest_on(conn, merchant_id))

    def run(self, merchant_id: str, before: datetime, planner: Planner, at: datetime) -> int:
        """Settle what is pending before `before` as `planner(sources, latest payout date, open
        debt per currency)` plans it, in one transaction; the number of payouts written.
        `AlreadySettled` if a concurrent run won."""
        try:
            with self.db.write() as conn:
                latest = self._latest_on(conn, merchant_id)
                sources = self._pending_on(conn, merchant_id, before, latest)
                currencies = {source.currency for source in sources}
                debts = {c: self._debt_on(conn, merchant_id, c) for c in sorted(currencies)}
                drafts = planner(sources, latest, debts)
                for draft in drafts:
                    self._insert_on(conn, merchant_id, draft, at)
        except IntegrityError:
            raise AlreadySettled() from None
        return len(drafts)

    def add_reversal(
        self, reversal_id: str, merchant_id: str, order_id: str, amount: int, at: datetime
    ) -> None:
        with self.db.write() as conn:
            self.add_reversal_on(conn, reversal_id, merchant_id, order_id, amount, at)

    def reversal_count(self, order_id: str) -> int:
        """How many reversals the order has (paid out or still waiting)."""
        query = select(func.count()).where(settlement_reversals.c.order_id == order_id)
        with self.db.read() as conn:
            return int(conn.execute(query).scalar() or 0)

    def add_reversal_on(
        self,
        conn: Connection,
        reversal_id: str,
        merchant_id: str,
        order_id: str,
        amount: int,
        at: datetime,
    ) -> None:
        """Add a reversal inside the caller's transaction (a dispute lost, with its change)."""
        conn.execute(
            insert(settlement_reversals),
            {
                "reversal_id": reversal_id,
                "merchant_id": merchant_id,
                "order_id": order_id,
                "amount": amount,
                "created_at": self.db.time(at),
            },
        )

    # Reading

    def payouts(
        self,
        merchant_id: str,
        start: datetime | None,
        end: datetime | None,
        currency: str | None,
        offset: int,
        limit: int | None,
    ) -> Page[Payout]:
        """The merchant's payouts dated within [start, end], newest first (`limit` None: all)."""
        p = settlement_payouts.c
        where = [p.merchant_id == merchant_id]
        if start is not None:
            where.append(p.payout_date >= self.db.time(start))
        if end is not None:
            where.append(p.payout_date <= self.db.time(end))
        if currency is not None:
            where.append(p.currency_code == currency)
        query = (
            select(settlement_payouts)
            .where(*where)
            .order_by(p.payout_date.desc(), p.currency_code, p.payment_reference)
            .offset(offset)
            .limit(limit)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            total = conn.execute(select(func.count()).where(*where)).scalar_one()
        return Page([_payout(row) for row in rows], int(total))

    def payout(self, merchant_id: str, payment_reference: str) -> Payout | None:
        p = settlement_payouts.c
        with self.db.read() as conn:
            row = conn.execute(
                select(settlement_payouts).where(
                    p.merchant_id == merchant_id, p.payment_reference == payment_reference
                )
            ).first()
        return _payout(row) if row is not None else None

    def transactions(
        self,
        merchant_id: str,
        payment_references: list[str] | None,
        order_id: str | None,
        offset: int,
        limit: int | None,
    ) -> Page[SettledTransaction]:
        """The merchant's transactions, by payout date, then payout, then line (`limit` None:
        all), of the payouts `payment_references` (None: any) and the order `order_id`."""
        t = settlement_transactions.c
        where = [t.merchant_id == merchant_id]
        if payment_references is not None:
            where.append(t.payment_reference.in_(payment_references))
        if order_id is not None:
            where.append(t.order_id == order_id)
        query = (
            select(t.payment_reference, t.payout_date, t.document)
            .where(*where)
            .order_by(t.payout_date, t.payment_reference, t.line)
            .offset(offset)
            .limit(limit)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            total = conn.execute(select(func.count()).where(*where)).scalar_one()
        return Page(
            [SettledTransaction(row[0], utc(row[1]), _decode_transaction(row[2])) for row in rows],
            int(total),
        )

    # Retention

    def delete_before(self, merchant_id: str, before: datetime, limit: int) -> int:
        """Delete up to `limit` of the merchant's payouts dated before `before`, with their
        transactions, and its reversals made before it that a payout holds; the number of
        payouts deleted. The latest payout of each currency stays: it carries the open debt."""
        p = settlement_payouts.c
        newer = settlement_payouts.alias("newer")
        r = settlement_reversals.c
        with self.db.write() as conn:
            refs = list(
                conn.execute(
                    select(p.payment_reference)
                    .where(
                        p.merchant_id == merchant_id,
                        p.payout_date < self.db.time(before),
                        exists().where(
                            newer.c.merchant_id == p.merchant_id,
                            newer.c.currency_code == p.currency_code,
                            newer.c.payout_date > p.payout_date,
                        ),
                    )
                    .order_by(p.payout_date)
                    .limit(limit)
                ).scalars()
            )
            if refs:
                conn.execute(
                    delete(settlement_transactions).where(
                        settlement_transactions.c.payment_reference.in_(refs)
                    )
                )
                conn.execute(delete(settlement_payouts).where(p.payment_reference.in_(refs)))
            conn.execute(
                delete(settlement_reversals).where(
                    r.merchant_id == merchant_id,
                    r.created_at < self.db.time(before),
                    ~_unsettled(r.reversal_id, r.order_id, "REVERSAL"),
                )
            )
        return len(refs)

    # On a connection

    def _latest_on(self, conn: Connection, merchant_id: str) -> datetime | None:
        p = settlement_payouts.c
        latest = conn.execute(
            select(func.max(p.payout_date)).where(p.merchant_id == merchant_id)
        ).scalar()
        return utc(latest) if latest is not None else None

    def _debt_on(self, conn: Connection, merchant_id: str, currency: str) -> int:
        """The debt the merchant's latest payout in `currency` left open."""
        p = settlement_payouts.c
        totals = conn.execute(
            select(p.totals)
            .where(p.merchant_id == merchant_id, p.currency_code == currency)
            .order_by(p.payout_date.desc())
            .limit(1)
        ).scalar()
        return _decode_totals(totals).closing_debt_balance_amount if totals else 0

    def _pending_on(
        self, conn: Connection, merchant_id: str, before: datetime, latest: datetime | None
    ) -> list[Source]:
        since = self.db.time(latest - SLACK) if latest is not None else None
        found: list[Source] = []
        o = om_orders.c
        for table, id_column, detailed in (
            (om_captures, om_captures.c.capture_id, "PURCHASE"),
            (om_refunds, om_refunds.c.refund_id, "PURCHASE_RETURN"),
        ):
            c = table.c
            where = [
                o.merchant_id == merchant_id,
                c.created_at < self.db.time(before),
                _unsettled(id_column, c.order_id, detailed),
            ]
            if since is not None:
                where.append(c.created_at >= since)
            rows = conn.execute(
                select(c.document, o.document)
                .select_from(table.join(om_orders, o.order_id == c.order_id))
                .where(and_(*where))
            ).all()
            for made, order in rows:
                found.append(_source(table is om_captures, made, _decode_order(order)))
        r = settlement_reversals.c
        where = [
            r.merchant_id == merchant_id,
            r.created_at < self.db.time(before),
            _unsettled(r.reversal_id, r.order_id, "REVERSAL"),
        ]
        if since is not None:
            where.append(r.created_at >= since)
        reversals = conn.execute(
            select(r.reversal_id, r.amount, r.created_at, o.document)
            .select_from(settlement_reversals.join(om_orders, o.order_id == r.order_id))
            .where(and_(*where))
        ).all()
        for reversal_id, amount, created_at, order in reversals:
            opened = _decode_order(order)
            found.append(_order_source(opened, "reversal", reversal_id, amount, utc(created_at)))
        return found

    def _insert_on(
        self, conn: Connection, merchant_id: str, draft: PayoutDraft, at: datetime
    ) -> None:
        conn.execute(
            insert(settlement_payouts),
            {
                "payment_reference": draft.payment_reference,
                "merchant_id": merchant_id,
                "currency_code": draft.currency_code,
                "payout_date": self.db.time(draft.payout_date),
                "totals": _encode(draft.totals).decode(),
                "created_at": self.db.time(at),
            },
        )
        if draft.lines:
            conn.execute(
                insert(settlement_transactions),
                [
                    {
                        "payment_reference": draft.payment_reference,
                        "line": number,
                        "merchant_id": merchant_id,
                        "payout_date": self.db.time(draft.payout_date),
                        "order_id": line.transaction.order_id,
                        "source_id": line.source_id,
                        "detailed_type": line.transaction.detailed_type,
                        "document": _encode(line.transaction).decode(),
                    }
                    for number, line in enumerate(draft.lines, start=1)
                ],
            )


def _payout(row: Row[Any]) -> Payout:
    return Payout(
        payment_reference=row.payment_reference,
        merchant_id=row.merchant_id,
        currency_code=row.currency_code,
        payout_date=utc(row.payout_date),
        totals=_decode_totals(row.totals),
    )


def _source(is_capture: bool, made: str, order: OmOrder) -> Source:
    if is_capture:
        capture = _decode_capture(made)
        return _order_source(
            order,
            "capture",
            capture.capture_id,
            capture.captured_amount,
            capture.captured_at,
            capture.reference,
        )
    refund = _decode_refund(made)
    return _order_source(
        order,
        "refund",
        refund.refund_id,
        refund.refunded_amount,
        refund.refunded_at,
        refund.reference,
    )


def _order_source(
    order: OmOrder,
    kind: SourceKind,
    source_id: str,
    amount: int,
    at: datetime,
    reference: str | None = None,
) -> Source:
    shipping = order.shipping_address.country if order.shipping_address else None
    return Source(
        kind=kind,
        source_id=source_id,
        order_id=order.order_id,
        amount=amount,
        at=at,
        currency=order.purchase_currency,
        short_order_id=order.klarna_reference,
        sale_date=order.created_at,
        purchase_country=order.purchase_country,
        shipping_country=shipping,
        merchant_reference1=order.merchant_reference1,
        merchant_reference2=order.merchant_reference2,
        reference=reference,
    )
