"""Indexes for reading an order's timeline by time, a page at a time, and for retention.

- `order_events (order_id, at, event_id)` and `callback_attempts (order_id, started_at,
  attempt_id)`: a page of `GET /_sandbox/orders/{id}/events` is a keyset read in this order.
- `checkout_orders (merchant_id, expires_at)`, `om_orders (merchant_id, created_at)`: retention's
  candidates, per merchant (each merchant has a clock of its own).
- `idempotency_keys (order_id)` and `(merchant_id, created_at)`: a pruned order's keys, and keys
  older than the window.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_order_events_order_at", "order_events", ["order_id", "at", "event_id"]),
    (
        "ix_callback_attempts_order_at",
        "callback_attempts",
        ["order_id", "started_at", "attempt_id"],
    ),
    ("ix_checkout_orders_merchant_expires", "checkout_orders", ["merchant_id", "expires_at"]),
    ("ix_om_orders_merchant_created", "om_orders", ["merchant_id", "created_at"]),
    ("ix_idempotency_keys_order", "idempotency_keys", ["order_id"]),
    ("ix_idempotency_keys_created", "idempotency_keys", ["merchant_id", "created_at"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
