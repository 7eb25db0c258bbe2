"""Checkout orders: one row each, the merchant's document and the shopper's session as JSON.

Concurrent changes of one order are serialised optimistically: `save` writes only if the
`version` read is still current, and the caller retries on a conflict.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, insert, select, update

from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.order import CheckoutOrder
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.checkout.session import Session
from kco_sandbox.store.engine import Database, from_sqlite, utc
from kco_sandbox.store.tables import checkout_orders

_decode_order = msgspec.json.Decoder(CheckoutOrder).decode
_decode_session = msgspec.json.Decoder(Session).decode
_encode = msgspec.json.Encoder().encode
_COLUMNS = (
    "order_id, merchant_id, status, version, document, started_at, last_modified_at, "
    "completed_at, expires_at, session"
)


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
        when = from_sqlite if self.db.is_sqlite else utc
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
