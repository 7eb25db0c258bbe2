"""Merchants and checkout orders.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("merchant_id", sa.String(255), primary_key=True),
        sa.Column("api_key", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("markets", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "checkout_orders",
        sa.Column("order_id", sa.String(36), primary_key=True),
        sa.Column(
            "merchant_id",
            sa.String(255),
            sa.ForeignKey("merchants.merchant_id"),
            nullable=False,
        ),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_checkout_orders_expires_at", "checkout_orders", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_checkout_orders_expires_at", "checkout_orders")
    op.drop_table("checkout_orders")
    op.drop_table("merchants")
