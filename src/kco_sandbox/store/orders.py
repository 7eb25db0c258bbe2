"""Order Management storage: orders, their captures and refunds, and idempotency keys.

Uses the transactions of `Database`, so the same engine rules apply (see its docstring). An order
is a row (`om_orders`) whose document keeps running totals of its captures and refunds; each
capture and refund is a row of its own (`om_captures`, `om_refunds`), numbered 1, 2, ... per
order (`seq`). A change writes the order row, only if the version it was read at is still
current, together with the one capture or refund it made (an INSERT) or the one capture it
changed: its cost does not depend on how many captures the order already has. An idempotency
key is recorded in the same transaction as the change it answered, so a repeated key can never
apply a change twice, even when two requests with the same key race.

Each statement of a read sees what was committed when it ran (PostgreSQL's READ COMMITTED;
SQLite runs each SELECT of a read on its own), so a read that takes more than one statement
relies on their order:

- the whole order (`view`) reads the order row first, then each list up to the count on that row:
  a capture committed in between is left out, so the lists always add up to the totals;
- a change reads the order row, then the key, then the capture it acts on: a change that commits
  in between moves the order's version (every write of a capture writes the order row too), so
  the optimistic write of what was judged on the older state fails and is judged again.

Every statement is built once, here, with named parameters (`bindparam`): SQLAlchemy then finds
its compiled form in its cache without building and hashing the statement again on each call,
which cost more than SQLite running it.

A key keeps what its first call did (a `Replay`: operation, order, id of what it created), not an
HTTP answer: the web layer renders the reply from that. A key is stored under its scope (the
operation and the ids it acted on) and looked up only in the scopes that may answer a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy import Connection, Select, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from kco_sandbox.domain.order_management.idempotency import UNKNOWN_OPERATION, Replay
from kco_sandbox.domain.order_management.lifecycle import OmAction
from kco_sandbox.domain.order_management.order import Capture, OmOrder, OmOrderView, Refund
from kco_sandbox.domain.webhook import EventType
from kco_sandbox.store.engine import Database
from kco_sandbox.store.tables import idempotency_keys, om_captures, om_orders, om_refunds
from kco_sandbox.store.webhooks import Webhooks

_decode_order = msgspec.json.Decoder(OmOrder).decode
_decode_capture = msgspec.json.Decoder(Capture).decode
_decode_refund = msgspec.json.Decoder(Refund).decode
_encode = msgspec.json.Encoder().encode

# The statements, built once (see the module docstring). A parameter of a WHERE clause never
# shares its name with a column an INSERT or UPDATE sets.
_ORDER_ROW = select(om_orders.c.document, om_orders.c.version).where(
    om_orders.c.order_id == bindparam("the_order")
)
_SAVE_ORDER = (
    update(om_orders)
    .where(
        om_orders.c.order_id == bindparam("the_order"),
        om_orders.c.version == bindparam("expected_version"),
    )
    .values(document=bindparam("document"), version=bindparam("version"))
)
_INSERT_ORDER = insert(om_orders)
_INSERT_CAPTURE = insert(om_captures)
_INSERT_REFUND = insert(om_refunds)
_INSERT_KEY = insert(idempotency_keys)
_CAPTURE = select(om_captures.c.document).where(
    om_captures.c.order_id == bindparam("the_order"),
    om_captures.c.capture_id == bindparam("the_capture"),
)
_SAVE_CAPTURE = (
    update(om_captures)
    .where(
        om_captures.c.order_id == bindparam("the_order"),
        om_captures.c.capture_id == bindparam("the_capture"),
    )
    .values(document=bindparam("document"))
)
_REFUND = select(om_refunds.c.document).where(
    om_refunds.c.order_id == bindparam("the_order"),
    om_refunds.c.refund_id == bindparam("the_refund"),
)
_KEY = select(
    idempotency_keys.c.scope,
    idempotency_keys.c.operation,
    idempotency_keys.c.order_id,
    idempotency_keys.c.created_id,
).where(
    idempotency_keys.c.merchant_id == bindparam("the_merchant"),
    idempotency_keys.c.idempotency_key == bindparam("the_key"),
    idempotency_keys.c.scope.in_(bindparam("scopes", expanding=True)),
)


def _list_of(table: Table) -> Select[str]:
    """The documents of an order's first `count` rows of `table`, oldest first: one range of
    the primary key (order_id, seq)."""
    return (
        select(table.c.document)
        .where(table.c.order_id == bindparam("the_order"), table.c.seq <= bindparam("count"))
        .order_by(table.c.seq)
    )


_LISTS = {om_captures.name: _list_of(om_captures), om_refunds.name: _list_of(om_refunds)}


@dataclass(frozen=True, slots=True)
class Remember:
    """Record `replay` under (`merchant_id`, `key`, `scope`) together with a change."""

    merchant_id: str
    key: str
    scope: str
    replay: Replay
    at: datetime


@dataclass(frozen=True, slots=True)
class Found:
    """An order as a change reads it: the order, its version, and the capture the call names
    (None: no capture named, or the order has no such capture)."""

    order: OmOrder
    version: int
    capture: Capture | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """What one change writes: the order (its totals already counting what it made), and the
    capture or refund it made, or the one capture it changed."""

    order: OmOrder
    made: Capture | Refund | None = None
    changed_capture: Capture | None = None


class KeyAlreadyUsed(Exception):
    """Another request with the same idempotency key committed first."""


class Orders:
    def __init__(self, db: Database, webhooks: Webhooks | None = None) -> None:
        self.db = db
        # An order opened, a capture or a refund made is a webhook event, queued in the same
        # transaction as the write (`Webhooks.emit_on`).
        self.webhooks = webhooks

    def open_on(self, conn: Connection, opened: OmOrder) -> None:
        """Insert a newly opened order inside the caller's transaction (a checkout completing),
        with the capture it was opened with, if any."""
        conn.execute(
            _INSERT_ORDER,
            {
                "order_id": opened.order_id,
                "merchant_id": opened.merchant_id,
                "version": 1,
                "document": _document(opened),
                "created_at": self.db.time(opened.created_at),
            },
        )
        self._event_on(conn, opened, EventType.ORDER_CREATED, {}, opened.created_at)
        if opened.opening_capture is not None:
            self._insert_capture(conn, opened, opened.opening_capture)

    # Reading

    def get(self, order_id: str) -> tuple[OmOrder, int] | None:
        """The order (without its captures and refunds) and the version it was read at."""
        with self.db.read() as conn:
            return self._order_on(conn, order_id)

    def view(self, order_id: str) -> OmOrderView | None:
        """The order with every capture and refund it counts (see the module docstring): the
        order row and one range read of each list, whatever their length."""
        with self.db.read() as conn:
            found = self._order_on(conn, order_id)
            if found is None:
                return None
            order = found[0]
            captures = self._captures_on(conn, order_id, order.capture_count)
            refunds = _listed(conn, om_refunds, order_id, order.refund_count)
            return OmOrderView(order, captures, [_decode_refund(doc) for doc in refunds])

    def captures(self, order_id: str, count: int) -> list[Capture]:
        """The order's first `count` captures (the order's `capture_count`), oldest first."""
        with self.db.read() as conn:
            return self._captures_on(conn, order_id, count)

    def capture(self, order_id: str, capture_id: str) -> Capture | None:
        with self.db.read() as conn:
            return self._capture_on(conn, order_id, capture_id)

    def refund(self, order_id: str, refund_id: str) -> Refund | None:
        if not _storable(refund_id):
            return None
        with self.db.read() as conn:
            document = conn.execute(
                _REFUND, {"the_order": order_id, "the_refund": refund_id}
            ).scalar()
        return _decode_refund(document) if document is not None else None

    def get_or_replay(
        self,
        order_id: str,
        merchant_id: str,
        key: str | None,
        scopes: tuple[str, ...],
        capture_id: str | None = None,
    ) -> Replay | Found | None:
        """`key`'s replay if a call under it succeeded in one of `scopes` (the first found, in
        their order), else the order, its version and the capture `capture_id` (if given; None:
        no such order).

        The order is read first, then the key, then the capture, in one transaction: a change
        and its key commit together, so if the order read shows a change, the key read sees its
        key too (a racing repeat then replays instead of judging the changed order); and a
        change to the capture after the order was read has moved the order's version.
        """
        with self.db.read() as conn:
            found = self._order_on(conn, order_id)
            replay = self._replay_on(conn, merchant_id, key, scopes) if key else None
            if replay is not None:
                return replay
            if found is None:
                return None
            order, version = found
            capture = (
                self._capture_on(conn, order_id, capture_id) if capture_id is not None else None
            )
        return Found(order, version, capture)

    # Writing

    def save(self, change: Change, expected_version: int, remember: Remember | None) -> bool:
        """Write `change` if the order is still at `expected_version`; False if it moved.

        Raises `KeyAlreadyUsed` when `remember`'s key was recorded by a request that won a race.
        """
        order = change.order
        with self.db.write() as conn:
            changed = conn.execute(
                _SAVE_ORDER,
                {
                    "the_order": order.order_id,
                    "expected_version": expected_version,
                    "document": _document(order),
                    "version": expected_version + 1,
                },
            ).rowcount
            if not changed:
                return False
            if isinstance(change.made, Capture):
                self._insert_capture(conn, order, change.made)
            elif isinstance(change.made, Refund):
                self._insert_refund(conn, order, change.made)
            if change.changed_capture is not None:
                conn.execute(
                    _SAVE_CAPTURE,
                    {
                        "the_order": order.order_id,
                        "the_capture": change.changed_capture.capture_id,
                        "document": _encode(change.changed_capture).decode(),
                    },
                )
            if remember is not None:
                self._insert_key(conn, remember)
        return True

    def remember(self, remember: Remember) -> None:
        """Record a key whose call changed nothing (a repeated acknowledge, a send-out)."""
        with self.db.write() as conn:
            self._insert_key(conn, remember)

    # On a connection

    def _order_on(self, conn: Connection, order_id: str) -> tuple[OmOrder, int] | None:
        row = conn.execute(_ORDER_ROW, {"the_order": order_id}).first()
        return (_decode_order(row.document), row.version) if row else None

    def _captures_on(self, conn: Connection, order_id: str, count: int) -> list[Capture]:
        return [_decode_capture(doc) for doc in _listed(conn, om_captures, order_id, count)]

    def _capture_on(self, conn: Connection, order_id: str, capture_id: str) -> Capture | None:
        if not _storable(capture_id):
            return None
        document = conn.execute(
            _CAPTURE, {"the_order": order_id, "the_capture": capture_id}
        ).scalar()
        return _decode_capture(document) if document is not None else None

    def _insert_capture(self, conn: Connection, order: OmOrder, capture: Capture) -> None:
        """`capture`, the newest of `order`, whose count already includes it."""
        conn.execute(
            _INSERT_CAPTURE,
            {
                "order_id": order.order_id,
                "seq": order.capture_count,
                "capture_id": capture.capture_id,
                "created_at": self.db.time(capture.captured_at),
                "document": _encode(capture).decode(),
            },
        )
        made = {"capture_id": capture.capture_id}
        self._event_on(conn, order, EventType.CAPTURE_CREATED, made, capture.captured_at)

    def _insert_refund(self, conn: Connection, order: OmOrder, refund: Refund) -> None:
        """`refund`, the newest of `order`, whose count already includes it."""
        conn.execute(
            _INSERT_REFUND,
            {
                "order_id": order.order_id,
                "seq": order.refund_count,
                "refund_id": refund.refund_id,
                "created_at": self.db.time(refund.refunded_at),
                "document": _encode(refund).decode(),
            },
        )
        made = {"refund_id": refund.refund_id}
        self._event_on(conn, order, EventType.REFUND_CREATED, made, refund.refunded_at)

    def _event_on(
        self, conn: Connection, order: OmOrder, kind: EventType, ids: dict[str, str], at: datetime
    ) -> None:
        if self.webhooks is not None:
            data = {"order_id": order.order_id, **ids}
            self.webhooks.emit_on(conn, order.merchant_id, kind, data, at)

    def _replay_on(
        self, conn: Connection, merchant_id: str, key: str, scopes: tuple[str, ...]
    ) -> Replay | None:
        rows = conn.execute(
            _KEY, {"the_merchant": merchant_id, "the_key": key, "scopes": list(scopes)}
        ).all()
        if not rows:
            return None
        row = min(rows, key=lambda r: scopes.index(r.scope))
        operation = None if row.operation == UNKNOWN_OPERATION else OmAction(row.operation)
        return Replay(operation, row.order_id, row.created_id)

    def _insert_key(self, conn: Connection, remember: Remember) -> None:
        """Record the key; `KeyAlreadyUsed` (the transaction then rolls back) if it is taken."""
        replay = remember.replay
        try:
            conn.execute(
                _INSERT_KEY,
                {
                    "merchant_id": remember.merchant_id,
                    "idempotency_key": remember.key,
                    "scope": remember.scope,
                    "operation": replay.operation.value if replay.operation else UNKNOWN_OPERATION,
                    "order_id": replay.order_id,
                    "created_id": replay.created_id,
                    "created_at": self.db.time(remember.at),
                },
            )
        except IntegrityError:
            raise KeyAlreadyUsed() from None


def _document(order: OmOrder) -> str:
    """The order row's document: never the opening capture, which is a row of its own."""
    if order.opening_capture is not None:
        order = msgspec.structs.replace(order, opening_capture=None)
    return _encode(order).decode()


def _listed(conn: Connection, table: Table, order_id: str, count: int) -> list[str]:
    """The documents of the order's first `count` rows of `table`, oldest first."""
    if count <= 0:
        return []
    return list(conn.execute(_LISTS[table.name], {"the_order": order_id, "count": count}).scalars())


def _storable(an_id: str) -> bool:
    """Can `an_id` be looked up? PostgreSQL refuses a NUL in a string; no stored id holds one."""
    return "\x00" not in an_id
