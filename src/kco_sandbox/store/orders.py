"""Order Management storage: orders (with their captures and refunds) and idempotency keys.

Uses the transactions of `SqlStore`, so the same engine rules apply (see its docstring). An
order is written only if the version it was read at is still current; an idempotency key is
recorded in the same transaction as the change it answered, so a repeated key can never apply a
change twice, even when two requests with the same key race.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.order_management.order import OmOrder
from kco_sandbox.store.engine import SqlStore
from kco_sandbox.store.outbox import Callback, OutboxStore
from kco_sandbox.store.tables import idempotency_keys, om_orders

_decode_order = msgspec.json.Decoder(OmOrder).decode
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The first successful answer to an idempotency key."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Remember:
    """Record `answer` under (`merchant_id`, `key`) together with a change."""

    merchant_id: str
    key: str
    answer: StoredAnswer
    at: datetime


class KeyAlreadyUsed(Exception):
    """Another request with the same idempotency key committed first."""


class ManagementStore:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def complete_checkout(
        self,
        after: CheckoutRecord,
        expected_version: int,
        opened: OmOrder,
        callbacks: Sequence[Callback] = (),
    ) -> bool:
        """Complete the checkout, open its Order Management order and queue its callbacks: all
        in one transaction, or nothing."""
        outbox = OutboxStore(self.store)
        with self.store.write() as conn:
            if not self.store.save_checkout_on(conn, after, expected_version):
                return False
            for callback in callbacks:
                outbox.enqueue_on(conn, callback, opened.created_at)
            conn.execute(
                insert(om_orders),
                {
                    "order_id": opened.order_id,
                    "merchant_id": opened.merchant_id,
                    "version": 1,
                    "document": _encode(opened).decode(),
                    "created_at": self.store.time(opened.created_at),
                },
            )
        return True

    def get(self, order_id: str) -> tuple[OmOrder, int] | None:
        """The order and the version it was read at."""
        with self.store.read() as conn:
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
            with self.store.write() as conn:
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

    def answer_for(self, merchant_id: str, key: str) -> StoredAnswer | None:
        with self.store.read() as conn:
            row = conn.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.merchant_id == merchant_id,
                    idempotency_keys.c.idempotency_key == key,
                )
            ).first()
        if row is None:
            return None
        return StoredAnswer(row.status, msgspec.json.decode(row.headers), row.body.encode())

    def remember(self, remember: Remember) -> None:
        """Record an answer that changed nothing (an acknowledge, a send-out) under its key."""
        try:
            with self.store.write() as conn:
                self._insert_key(conn, remember)
        except IntegrityError:
            raise KeyAlreadyUsed() from None

    def _insert_key(self, conn: Connection, remember: Remember) -> None:
        conn.execute(
            insert(idempotency_keys),
            {
                "merchant_id": remember.merchant_id,
                "idempotency_key": remember.key,
                "status": remember.answer.status,
                "headers": _encode(remember.answer.headers).decode(),
                "body": remember.answer.body.decode(),
                "created_at": self.store.time(remember.at),
            },
        )
