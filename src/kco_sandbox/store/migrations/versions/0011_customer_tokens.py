"""Customer tokens: one row per `recurring_token` a completed recurring checkout minted.

A token belongs to the merchant whose checkout minted it (`merchant_id`), names that checkout
(`order_id`), has a `status` (ACTIVE, CANCELLED, SUSPENDED) and the payment method type the
shopper paid with. `email` is the shopper's persona, which decides each charge's outcome;
`details` is what the shopper gave at the checkout (addresses, customer, market, locale, the
card or account shown on a read) as JSON. `last_used_at` is when it was last used: minted,
charged or its status changed (on the merchant's clock); retention deletes a token unused for the
window, found by the index on (`merchant_id`, `last_used_at`).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_tokens",
        sa.Column("token", sa.String(36), primary_key=True),
        sa.Column(
            "merchant_id",
            sa.String(255),
            sa.ForeignKey("merchants.merchant_id"),
            nullable=False,
        ),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payment_method_type", sa.String(32), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_customer_tokens_merchant_last_used",
        "customer_tokens",
        ["merchant_id", "last_used_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_customer_tokens_merchant_last_used", table_name="customer_tokens")
    op.drop_table("customer_tokens")
