"""Order Management captures and refunds become rows of their own.

Until now an order's document held its `captures` and `refunds`, so every change of the order
read and re-wrote all of them: a capture cost more the more captures the order had. Now:

- `om_captures` and `om_refunds`: one row per capture or refund (`order_id`, `seq`, its id,
  `created_at`, the capture or refund as JSON). `seq` numbers an order's captures (and, apart,
  its refunds) 1, 2, ... in the order they were made; (`order_id`, `seq`) is the primary key, so
  an order's list is one range of it. A unique index on (`order_id`, `capture_id`) (and
  `refund_id`) finds one by its id.
- The order's document keeps running totals instead, which the rules judge by:
  `captured_amount`, `refunded_amount`, `capture_count`, `refund_count` and `ledger_changed_at`
  (the latest capture's or refund's time), each left out while zero or unset, as the
  application writes them.

Carry-over: each order's lists leave its document for rows, in their order, and the totals are
filled in from them. Orders are read a page at a time in id order and rows inserted a chunk at a
time: the migration holds one page of documents in memory, however big the database.
Downgrading puts the lists back (rows in `seq` order) and takes the totals out, a page at a
time, then drops the tables. Documents are handled as plain JSON, not through the application's
types, which may change after this revision.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

import msgspec
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PAGE = 100  # orders read at a time (one document may hold thousands of captures)
CHUNK = 1000  # rows inserted at a time


class Ledger(NamedTuple):
    """One of the two lists, as the document and the new table name it. A named tuple, not a
    dataclass: Alembic loads this file without registering a module, which a dataclass looks up."""

    table: str
    id_column: str  # the capture's or refund's id, in its JSON and as a column
    index_name: str
    listed: str  # the list's key in the old document
    at: str  # the time a capture or refund was made, in its JSON
    amount: str  # its amount in its JSON; the order's total of them has the same name
    number: str  # the order's number of them

    def rows(self) -> sa.TableClause:
        return sa.table(
            self.table,
            sa.column("order_id", sa.String),
            sa.column("seq", sa.Integer),
            sa.column(self.id_column, sa.String),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("document", sa.Text),
        )


LEDGERS = (
    Ledger(
        "om_captures",
        "capture_id",
        "ix_om_captures_capture_id",
        "captures",
        "captured_at",
        "captured_amount",
        "capture_count",
    ),
    Ledger(
        "om_refunds",
        "refund_id",
        "ix_om_refunds_refund_id",
        "refunds",
        "refunded_at",
        "refunded_amount",
        "refund_count",
    ),
)
LATEST = "ledger_changed_at"
TOTALS = (*(ledger.amount for ledger in LEDGERS), *(ledger.number for ledger in LEDGERS), LATEST)

_orders = sa.table("om_orders", sa.column("order_id", sa.String), sa.column("document", sa.Text))
_decode = msgspec.json.decode
_encode = msgspec.json.encode


def upgrade() -> None:
    for ledger in LEDGERS:
        op.create_table(
            ledger.table,
            sa.Column("order_id", sa.String(36), primary_key=True),
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column(ledger.id_column, sa.String(36), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("document", sa.Text, nullable=False),
        )
        op.create_index(
            ledger.index_name, ledger.table, ["order_id", ledger.id_column], unique=True
        )
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    for page in _pages(conn):
        rows: dict[str, list[dict[str, Any]]] = {ledger.table: [] for ledger in LEDGERS}
        documents = []
        for order_id, text in page:
            document = _decode(text)
            made = {ledger: document.pop(ledger.listed, None) or [] for ledger in LEDGERS}
            if not any(made.values()):
                continue  # nothing to move, no totals to add: the document stays as it is
            for ledger, items in made.items():
                rows[ledger.table] += [
                    {
                        "order_id": order_id,
                        "seq": seq,
                        ledger.id_column: item[ledger.id_column],
                        "created_at": _stored_time(item[ledger.at], sqlite),
                        "document": _encode(item).decode(),
                    }
                    for seq, item in enumerate(items, start=1)
                ]
                _set(document, ledger.amount, sum(int(item[ledger.amount]) for item in items))
                _set(document, ledger.number, len(items))
            times = [item[ledger.at] for ledger, items in made.items() for item in items]
            _set(document, LATEST, max(times, key=_parse_time))
            documents.append({"b_order_id": order_id, "b_document": _encode(document).decode()})
        for ledger in LEDGERS:
            _insert(conn, ledger.rows(), rows[ledger.table])
        _write(conn, documents)


def downgrade() -> None:
    conn = op.get_bind()
    for page in _pages(conn):
        ids = [order_id for order_id, _ in page]
        listed = {ledger.listed: _listed(conn, ledger, ids) for ledger in LEDGERS}
        documents = []
        for order_id, text in page:
            document = _decode(text)
            if not any(key in document for key in TOTALS):
                continue  # never captured nor refunded: no rows, no totals
            for key in TOTALS:
                document.pop(key, None)
            for ledger in LEDGERS:
                made = listed[ledger.listed].get(order_id)
                if made:
                    document[ledger.listed] = made
            documents.append({"b_order_id": order_id, "b_document": _encode(document).decode()})
        _write(conn, documents)
    for ledger in reversed(LEDGERS):
        op.drop_index(ledger.index_name, table_name=ledger.table)
        op.drop_table(ledger.table)


def _pages(conn: sa.Connection) -> Iterator[list[tuple[str, str]]]:
    """Every order's (id, document), `PAGE` at a time, in id order."""
    after = ""
    while True:
        rows = conn.execute(
            sa.select(_orders.c.order_id, _orders.c.document)
            .where(_orders.c.order_id > after)
            .order_by(_orders.c.order_id)
            .limit(PAGE)
        ).all()
        if not rows:
            return
        yield [(row.order_id, row.document) for row in rows]
        after = rows[-1].order_id


def _set(document: dict[str, Any], key: str, value: object) -> None:
    """Set a total, left out while it is zero or unset (as the application's encoder does)."""
    if value:
        document[key] = value
    else:
        document.pop(key, None)


def _parse_time(text: str) -> datetime:
    """A time as the application's JSON writes it (RFC 3339), in UTC."""
    value = datetime.fromisoformat(text)
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _stored_time(text: str, sqlite: bool) -> datetime:
    """A time as the engine stores it: UTC, and naive on SQLite (which keeps no zone)."""
    value = _parse_time(text)
    return value.replace(tzinfo=None) if sqlite else value


def _insert(conn: sa.Connection, table: sa.TableClause, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(sa.insert(table), rows[start : start + CHUNK])


def _write(conn: sa.Connection, documents: list[dict[str, str]]) -> None:
    if documents:
        conn.execute(
            sa.update(_orders)
            .where(_orders.c.order_id == sa.bindparam("b_order_id"))
            .values(document=sa.bindparam("b_document")),
            documents,
        )


def _listed(conn: sa.Connection, ledger: Ledger, ids: list[str]) -> dict[str, list[Any]]:
    """The captures or refunds of the orders `ids`, each order's in `seq` order."""
    rows = ledger.rows()
    found: dict[str, list[Any]] = {}
    for order_id, document in conn.execute(
        sa.select(rows.c.order_id, rows.c.document)
        .where(rows.c.order_id.in_(ids))
        .order_by(rows.c.order_id, rows.c.seq)
    ):
        found.setdefault(order_id, []).append(_decode(document))
    return found
