"""The shopper's session on a checkout order, and the order's event log.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkout_orders") as batch:
        batch.add_column(sa.Column("session", sa.Text, nullable=False, server_default="{}"))
    op.create_table(
        "order_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_order_events_order_id", "order_events", ["order_id", "event_id"])


def downgrade() -> None:
    op.drop_index("ix_order_events_order_id", "order_events")
    op.drop_table("order_events")
    with op.batch_alter_table("checkout_orders") as batch:
        batch.drop_column("session")
