"""Hosted Payment Page sessions and their distributions.

`hpp_sessions`: one row per session, owned by its merchant, wrapping one Checkout order
(`order_id`); `short_id` (unique) names the shopper's page; `status` and `version` (each change
writes only if the version read is still current); the merchant's `merchant_urls` and `options`
as JSON; `klarna_reference` once completed; `created_at`, `updated_at` (the last status change)
and `expires_at`, on the merchant's clock. Indexed by `order_id` (completing an order finds its
sessions; retention deletes them with their order).

`hpp_distributions`: one row per distribution (recorded, never sent), counted per merchant,
method and time against the daily limits.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hpp_sessions",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("short_id", sa.String(16), nullable=False),
        sa.Column(
            "merchant_id",
            sa.String(255),
            sa.ForeignKey("merchants.merchant_id"),
            nullable=False,
        ),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("merchant_urls", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("klarna_reference", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_hpp_sessions_short_id", "hpp_sessions", ["short_id"], unique=True)
    op.create_index("ix_hpp_sessions_order", "hpp_sessions", ["order_id"])
    op.create_table(
        "hpp_distributions",
        sa.Column("distribution_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("merchant_id", sa.String(255), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_hpp_distributions_merchant", "hpp_distributions", ["merchant_id", "method", "at"]
    )
    op.create_index("ix_hpp_distributions_order", "hpp_distributions", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_hpp_distributions_order", table_name="hpp_distributions")
    op.drop_index("ix_hpp_distributions_merchant", table_name="hpp_distributions")
    op.drop_table("hpp_distributions")
    op.drop_index("ix_hpp_sessions_order", table_name="hpp_sessions")
    op.drop_index("ix_hpp_sessions_short_id", table_name="hpp_sessions")
    op.drop_table("hpp_sessions")
