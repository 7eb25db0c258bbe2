"""Webhook destinations and sandbox disputes.

`webhook_destinations`: one row per destination a merchant set up: its `name`, the `url` events
are POSTed to, the event types it listens to (`events`, a JSON array; `["*"]` is every type),
its signing `secret`, and the secret it replaced with the time until which that one still signs
(`previous_secret`, `previous_until`, on the merchant's clock; NULL when none does). Listed per
merchant in the order they were made (index on `merchant_id`, `created_at`).

`disputes`: the disputes a test opened on an order through the sandbox API, with their status;
each change is a `dispute.*` webhook event. Found per order (index on `order_id`).

Deliveries themselves are rows of the callback outbox (`callbacks`, kind `webhook`, `target` the
destination id: migration 0012).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_destinations",
        sa.Column("destination_id", sa.String(36), primary_key=True),
        sa.Column(
            "merchant_id", sa.String(255), sa.ForeignKey("merchants.merchant_id"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("previous_secret", sa.String(128), nullable=True),
        sa.Column("previous_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_webhook_destinations_merchant",
        "webhook_destinations",
        ["merchant_id", "created_at", "destination_id"],
    )
    op.create_table(
        "disputes",
        sa.Column("dispute_id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("merchant_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_disputes_order", "disputes", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_disputes_order", table_name="disputes")
    op.drop_table("disputes")
    op.drop_index("ix_webhook_destinations_merchant", table_name="webhook_destinations")
    op.drop_table("webhook_destinations")
