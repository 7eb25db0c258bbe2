"""Customer tokens: one row each (`customer_tokens`, migration 0011), and the charges made on them.

A token is written in the transaction that completes its checkout (`Store.complete_checkout`
calls `add_on`). A charge opens an Order Management order (`Orders.open_on`) and, when the call
carried a `Klarna-Idempotency-Key`, records the key in the same transaction, in the table Order
Management's keys live in (`idempotency_keys`) under a scope of its own,
`customer_token_order <token>`, which no Order Management call looks up: a repeat finds the
order its first call opened, and two racing repeats can never open two orders.

Every write moves the token's `last_used_at` (minting sets it, a charge or a status change moves
it), which retention deletes unused tokens by (`store/retention.py`). A charge moves it first, in
its own transaction, so a token retention deleted meanwhile opens nothing, and one charged
meanwhile is no longer old enough for retention's delete.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from kco_sandbox.domain.customer_token import CustomerToken, TokenDetails, TokenStatus
from kco_sandbox.domain.order_management.order import OmOrder
from kco_sandbox.store.engine import Database, utc
from kco_sandbox.store.orders import KeyAlreadyUsed, Orders
from kco_sandbox.store.tables import customer_tokens, idempotency_keys

_decode_details = msgspec.json.Decoder(TokenDetails).decode
_encode = msgspec.json.Encoder().encode
CHARGE_OPERATION = "customer_token_order"


def charge_scope(token: str) -> str:
    """The scope of a charge's idempotency key: the operation and the token charged."""
    return f"{CHARGE_OPERATION} {token}"


class CustomerTokens:
    def __init__(self, db: Database, orders: Orders) -> None:
        self.db = db
        self.orders = orders

    def add_on(self, conn: Connection, token: CustomerToken) -> None:
        """Insert a newly minted token inside the caller's transaction (a checkout completing)."""
        conn.execute(
            insert(customer_tokens),
            {
                "token": token.token,
                "merchant_id": token.merchant_id,
                "order_id": token.order_id,
                "status": token.status.value,
                "payment_method_type": token.payment_method_type,
                "email": token.email,
                "details": _encode(token.details).decode(),
                "created_at": self.db.time(token.created_at),
                "last_used_at": self.db.time(token.created_at),
            },
        )

    def get(self, token: str) -> CustomerToken | None:
        if "\x00" in token:  # PostgreSQL refuses a NUL in a string; no stored token holds one
            return None
        with self.db.read() as conn:
            row = conn.execute(
                select(customer_tokens).where(customer_tokens.c.token == token)
            ).first()
        if row is None:
            return None
        return CustomerToken(
            token=row.token,
            merchant_id=row.merchant_id,
            order_id=row.order_id,
            status=TokenStatus(row.status),
            payment_method_type=row.payment_method_type,
            email=row.email,
            details=_decode_details(row.details),
            created_at=utc(row.created_at),
        )

    def set_status(self, token: str, status: TokenStatus, at: datetime) -> bool:
        """Set the token's status, used `at`; False if there is no such token."""
        with self.db.write() as conn:
            changed = conn.execute(
                update(customer_tokens)
                .where(customer_tokens.c.token == token)
                .values(status=status.value, last_used_at=self.db.time(at))
            ).rowcount
        return bool(changed)

    def charged_order(self, merchant_id: str, key: str, token: str) -> str | None:
        """The id of the order the first charge of `token` under `key` opened, if any."""
        query = select(idempotency_keys.c.order_id).where(
            idempotency_keys.c.merchant_id == merchant_id,
            idempotency_keys.c.idempotency_key == key,
            idempotency_keys.c.scope == charge_scope(token),
        )
        with self.db.read() as conn:
            found: str | None = conn.execute(query).scalar()
        return found

    def charge(self, token: str, opened: OmOrder, key: str | None, at: datetime) -> bool:
        """Mark the token used `at`, open the charge's order and record its key, in one
        transaction; False (and nothing opened) if the token is gone (retention deleted it).

        Raises `KeyAlreadyUsed` (and opens nothing) when a racing call with the same key
        committed first.
        """
        with self.db.write() as conn:
            used = conn.execute(
                update(customer_tokens)
                .where(customer_tokens.c.token == token)
                .values(last_used_at=self.db.time(at))
            ).rowcount
            if not used:
                return False
            self.orders.open_on(conn, opened)
            if key is None:
                return True
            try:
                conn.execute(
                    insert(idempotency_keys),
                    {
                        "merchant_id": opened.merchant_id,
                        "idempotency_key": key,
                        "scope": charge_scope(token),
                        "operation": CHARGE_OPERATION,
                        "order_id": opened.order_id,
                        "created_id": None,
                        "created_at": self.db.time(at),
                    },
                )
            except IntegrityError:
                raise KeyAlreadyUsed() from None
        return True
