"""Order Management storage: orders (with their captures and refunds) and idempotency keys.

Uses the transactions of `Database`, so the same engine rules apply (see its docstring). An
order is written only if the version it was read at is still current; an idempotency key is
recorded in the same transaction as the change it answered, so a repeated key can never apply a
change twice, even when two requests with the same key race.

A key keeps what its first call did (a `Replay`: operation, order, id of what it created), not an
HTTP answer: the web layer renders the reply from that. A key is stored under its scope (the
operation and the ids it acted on) and looked up only in the scopes that may answer a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from kco_sandbox.domain.order_management.idempotency import UNKNOWN_OPERATION, Replay
from kco_sandbox.domain.order_management.lifecycle import OmAction
from kco_sandbox.domain.order_management.order import OmOrder
from kco_sandbox.store.engine import Database
from kco_sandbox.store.tables import idempotency_keys, om_orders

_decode_order = msgspec.json.Decoder(OmOrder).decode
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Remember:
    """Record `replay` under (`merchant_id`, `key`, `scope`) together with a change."""

    merchant_id: str
    key: str
    scope: str
    replay: Replay
    at: datetime


class KeyAlreadyUsed(Exception):
    """Another request with the same idempotency key committed first."""


class Orders:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open_on(self, conn: Connection, opened: OmOrder) -> None:
        """Insert a newly opened order inside the caller's transaction (a checkout completing)."""
        conn.execute(
            insert(om_orders),
            {
                "order_id": opened.order_id,
                "merchant_id": opened.merchant_id,
                "version": 1,
                "document": _encode(opened).decode(),
                "created_at": self.db.time(opened.created_at),
            },
        )

    def get(self, order_id: str) -> tuple[OmOrder, int] | None:
        """The order and the version it was read at."""
        with self.db.read() as conn:
            row = conn.execute(
                select(om_orders.c.document, om_orders.c.version).where(
                    om_orders.c.order_id == order_id
                )
            ).first()
        return (_decode_order(row.document), row.version) if row else None

    def save(self, order: OmOrder, expected_version: int, remember: Remember | None) -> bool:
        """Write `order` if still at `expected_version`; False if it moved.

        Raises `KeyAlreadyUsed` when `remember`'s key was recorded by a request that won a race.
        """
        try:
            with self.db.write() as conn:
                changed = conn.execute(
                    update(om_orders).where(
                        om_orders.c.order_id == order.order_id,
                        om_orders.c.version == expected_version,
                    ),
                    {"document": _encode(order).decode(), "version": expected_version + 1},
                ).rowcount
                if changed and remember is not None:
                    self._insert_key(conn, remember)
        except IntegrityError:
            raise KeyAlreadyUsed() from None
        return bool(changed)

    def get_or_replay(
        self, order_id: str, merchant_id: str, key: str | None, scopes: tuple[str, ...]
    ) -> Replay | tuple[OmOrder, int] | None:
        """`key`'s replay if a call under it succeeded in one of `scopes` (the first found, in
        their order), else the order and its version (None: no such order).

        The order is read before the key, in one transaction: a change and its key commit
        together, so if the order read shows a change, the key read sees its key too (a racing
        repeat then replays instead of judging the changed order).
        """
        with self.db.read() as conn:
            row = conn.execute(
                select(om_orders.c.document, om_orders.c.version).where(
                    om_orders.c.order_id == order_id
                )
            ).first()
            replay = self._replay_on(conn, merchant_id, key, scopes) if key else None
        if replay is not None:
            return replay
        return (_decode_order(row.document), row.version) if row else None

    def _replay_on(
        self, conn: Connection, merchant_id: str, key: str, scopes: tuple[str, ...]
    ) -> Replay | None:
        rows = conn.execute(
            select(
                idempotency_keys.c.scope,
                idempotency_keys.c.operation,
                idempotency_keys.c.order_id,
                idempotency_keys.c.created_id,
            ).where(
                idempotency_keys.c.merchant_id == merchant_id,
                idempotency_keys.c.idempotency_key == key,
                idempotency_keys.c.scope.in_(scopes),
            )
        ).all()
        if not rows:
            return None
        row = min(rows, key=lambda r: scopes.index(r.scope))
        operation = None if row.operation == UNKNOWN_OPERATION else OmAction(row.operation)
        return Replay(operation, row.order_id, row.created_id)

    def remember(self, remember: Remember) -> None:
        """Record a key whose call changed nothing (a repeated acknowledge, a send-out)."""
        try:
            with self.db.write() as conn:
                self._insert_key(conn, remember)
        except IntegrityError:
            raise KeyAlreadyUsed() from None

    def _insert_key(self, conn: Connection, remember: Remember) -> None:
        replay = remember.replay
        conn.execute(
            insert(idempotency_keys),
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
