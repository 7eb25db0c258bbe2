"""Checkout orders: one row each, the merchant's document and the shopper's session as JSON.

Concurrent changes of one order are serialised optimistically: `save` writes only if the
`version` read is still current, and the caller retries on a conflict.

`list_page` reads one merchant's orders for people to look at (the portal), newest first, a
keyset page at a time, filtered by status, expiry and a search on the id or the references.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Connection, insert, literal, or_, select, tuple_, update

from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.order import CheckoutOrder
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.checkout.session import Session
from kco_sandbox.domain.order_management.order import OmOrder
from kco_sandbox.store.engine import Database, from_sqlite, utc
from kco_sandbox.store.tables import checkout_orders, om_orders

_decode_order = msgspec.json.Decoder(CheckoutOrder).decode
_decode_om_order = msgspec.json.Decoder(OmOrder).decode
_decode_session = msgspec.json.Decoder(Session).decode
_encode = msgspec.json.Encoder().encode
_COLUMNS = (
    "order_id, merchant_id, status, version, document, started_at, last_modified_at, "
    "completed_at, expires_at, session"
)


@dataclass(frozen=True, slots=True)
class Listing:
    """Which of a merchant's orders a list shows."""

    merchant_id: str
    statuses: frozenset[CheckoutStatus] | None = None  # None: any status
    live_at: datetime | None = None  # only orders not yet expired at this time
    expired_at: datetime | None = None  # only orders already expired at this time
    search: str | None = None  # a prefix of the order id or of a merchant reference


@dataclass(frozen=True, slots=True)
class ListKey:
    """Where a listed page ends: an order's start time and id (the list's sort key)."""

    started_at: datetime
    order_id: str

    def encode(self) -> str:
        text = f"{self.started_at.astimezone(UTC).isoformat()}|{self.order_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> ListKey:
        """The key `encode` made; `ValueError` for anything else."""
        try:
            padded = token + "=" * (-len(token) % 4)
            text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
            at_text, order_id = text.split("|", 1)
            at = datetime.fromisoformat(at_text)
        except (binascii.Error, UnicodeError, ValueError) as exc:
            raise ValueError("not a key of this list") from exc
        if at.tzinfo is None or not order_id or not order_id.isprintable():
            raise ValueError("not a key of this list")
        return cls(at, order_id)

    @classmethod
    def of(cls, record: CheckoutRecord) -> ListKey:
        return cls(record.started_at, record.order_id)


@dataclass(frozen=True, slots=True)
class ListPage:
    records: list[CheckoutRecord]  # newest first
    more: bool  # are there more beyond this page, in the direction it was read?


class Checkouts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _values(self, record: CheckoutRecord) -> dict[str, Any]:
        return {
            "status": record.status.value,
            "version": record.version,
            "document": _encode(record.order).decode(),
            "last_modified_at": self.db.time(record.last_modified_at),
            "completed_at": self.db.time(record.completed_at),
            "expires_at": self.db.time(record.expires_at),
            "session": _encode(record.session).decode(),
        }

    def add(self, record: CheckoutRecord) -> None:
        with self.db.write() as conn:
            conn.execute(
                insert(checkout_orders),
                {
                    "order_id": record.order_id,
                    "merchant_id": record.merchant_id,
                    "started_at": self.db.time(record.started_at),
                    **self._values(record),
                },
            )

    def get(self, order_id: str) -> CheckoutRecord | None:
        # The hottest query: sent through the driver, and its row read here, because SQLAlchemy's
        # per-row processing cost more than the query itself.
        if self.db.is_sqlite:
            # One SELECT is its own transaction in SQLite's autocommit mode: no BEGIN is needed.
            with self.db.reader.lock:
                raw = self.db.reader.get().connection.dbapi_connection
                assert raw is not None
                row = raw.execute(
                    f"SELECT {_COLUMNS} FROM checkout_orders WHERE order_id = ?", (order_id,)
                ).fetchone()
        else:
            with self.db.read() as conn:
                row = conn.exec_driver_sql(
                    f"SELECT {_COLUMNS} FROM checkout_orders WHERE order_id = %s", (order_id,)
                ).first()
        if row is None:
            return None
        return _record(row, from_sqlite if self.db.is_sqlite else utc)

    def list_recent(self, limit: int) -> list[CheckoutRecord]:
        """The newest `limit` orders (by `started_at`), newest first, for people to look at.

        Each is read through `get`, so a record is built in one place: a listing of a few dozen
        rows is no hot path.
        """
        newest = select(checkout_orders.c.order_id).order_by(
            checkout_orders.c.started_at.desc(), checkout_orders.c.order_id.desc()
        )
        with self.db.read() as conn:
            ids = conn.execute(newest.limit(limit)).scalars().all()
        return [record for order_id in ids if (record := self.get(order_id)) is not None]

    def list_page(
        self,
        listing: Listing,
        limit: int,
        before: ListKey | None = None,
        after: ListKey | None = None,
    ) -> ListPage:
        """A page of one merchant's orders, newest first: the `limit` orders older than `before`
        (from the newest when neither is given), or the `limit` orders just newer than `after`.

        A keyset read through `(merchant_id, started_at, order_id)` (migration 0009), so every
        page costs the same however many orders the merchant has.
        """
        table = checkout_orders
        columns = [table.c[name.strip()] for name in _COLUMNS.split(",")]
        query = select(*columns).where(*self._conditions(listing))
        key = tuple_(table.c.started_at, table.c.order_id)
        if after is not None:
            # Newer orders: read upwards from the cursor, then turn the page the right way round.
            query = query.where(
                key > tuple_(literal(self.db.time(after.started_at)), literal(after.order_id))
            )
            query = query.order_by(table.c.started_at, table.c.order_id)
        else:
            if before is not None:
                at = literal(self.db.time(before.started_at))
                query = query.where(key < tuple_(at, literal(before.order_id)))
            query = query.order_by(table.c.started_at.desc(), table.c.order_id.desc())
        with self.db.read() as conn:
            rows = conn.execute(query.limit(limit + 1)).all()
        records = [_record(tuple(row), utc) for row in rows[:limit]]
        if after is not None:
            records.reverse()
        return ListPage(records, more=len(rows) > limit)

    def _conditions(self, listing: Listing) -> list[ColumnElement[bool]]:
        table = checkout_orders
        found: list[ColumnElement[bool]] = [table.c.merchant_id == listing.merchant_id]
        if listing.statuses is not None:
            found.append(table.c.status.in_(sorted(s.value for s in listing.statuses)))
        if listing.live_at is not None:
            found.append(table.c.expires_at > self.db.time(listing.live_at))
        if listing.expired_at is not None:
            found.append(table.c.expires_at <= self.db.time(listing.expired_at))
        if listing.search:
            found.append(_search(listing.search))
        return found

    def management_orders(self, merchant_id: str, order_ids: Sequence[str]) -> dict[str, OmOrder]:
        """The Order Management orders of `order_ids` that are `merchant_id`'s, by id: one read
        for a listed page's completed orders (a page is at most a few dozen ids)."""
        if not order_ids:
            return {}
        # Found by primary key alone, the merchant checked on the rows: with the merchant in the
        # WHERE clause SQLite walks the merchant's index instead, every OM order it has (some
        # 300 ms at 250,000, bench/stored_data.py), rather than the page's few dozen ids.
        query = select(om_orders.c.order_id, om_orders.c.merchant_id, om_orders.c.document).where(
            om_orders.c.order_id.in_(list(order_ids))
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return {
            row.order_id: _decode_om_order(row.document)
            for row in rows
            if row.merchant_id == merchant_id
        }

    def save(self, record: CheckoutRecord, expected_version: int) -> bool:
        """Write `record` if the stored version is still `expected_version`; False if it moved."""
        with self.db.write() as conn:
            return self.save_on(conn, record, expected_version)

    def save_on(self, conn: Connection, record: CheckoutRecord, expected_version: int) -> bool:
        """`save` inside the caller's transaction."""
        changed = conn.execute(
            update(checkout_orders).where(
                checkout_orders.c.order_id == record.order_id,
                checkout_orders.c.version == expected_version,
            ),
            self._values(record),
        ).rowcount
        return bool(changed)


def _record(row: Sequence[Any], when: Callable[[Any], datetime]) -> CheckoutRecord:
    """A record from a row of `_COLUMNS`, its times read with `when`."""
    return CheckoutRecord(
        order_id=row[0],
        merchant_id=row[1],
        status=CheckoutStatus(row[2]),
        order=_decode_order(row[4]),
        started_at=when(row[5]),
        last_modified_at=when(row[6]),
        completed_at=when(row[7]) if row[7] is not None else None,
        expires_at=when(row[8]),
        version=row[3],
        session=_decode_session(row[9]),
    )


def _search(text: str) -> ColumnElement[bool]:
    """Orders whose id starts with `text`, or whose `merchant_reference1` or `2` does (any case).

    The references live in the JSON document: a prefix of a reference is the key, as the encoder
    writes it, followed by the value's JSON spelling, so one LIKE finds it without a column of
    its own. Bounded by the merchant and the page, the scan stays small.
    """
    table = checkout_orders
    spelled = _encode(text).decode()[1:-1]  # the value as it appears inside the JSON string
    return or_(
        table.c.order_id.istartswith(text, autoescape=True),
        *(
            table.c.document.icontains(f'"{name}":"{spelled}', autoescape=True)
            for name in ("merchant_reference1", "merchant_reference2")
        ),
    )
