"""Settlements: payouts, their transactions, and reversals waiting for a payout.

- `settlement_payouts`: one row per payout, keyed by its `payment_reference`; (`merchant_id`,
  `currency_code`, `payout_date`) is unique, so two readers settling the same cut-off at once
  cannot both write it (the second's insert fails and it reads the first's). `totals` is the
  payout's Totals as JSON.
- `settlement_transactions`: the lines of a payout (`payment_reference`, `line`), with the
  merchant, the payout date (for listing a merchant's transactions in order), and the order and
  capture, refund or reversal (`source_id`) each came from; (`order_id`, `source_id`,
  `detailed_type`) is unique, so nothing is settled twice.
- `settlement_reversals`: reversals asked for through the sandbox API, until a payout takes them.
- Indexes on `om_captures.created_at` and `om_refunds.created_at`: a settlement run looks for the
  captures and refunds made since the last cut-off.

Nothing is carried over: captures and refunds made before this revision are settled by the first
run that reads them (their times are already stored).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_payouts",
        sa.Column("payment_reference", sa.String(16), primary_key=True),
        sa.Column(
            "merchant_id", sa.String(255), sa.ForeignKey("merchants.merchant_id"), nullable=False
        ),
        sa.Column("currency_code", sa.String(3), nullable=False),
        sa.Column("payout_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("totals", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "settlement_transactions",
        sa.Column("payment_reference", sa.String(16), primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("merchant_id", sa.String(255), nullable=False),
        sa.Column("payout_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("source_id", sa.String(36), nullable=False),
        sa.Column("detailed_type", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_table(
        "settlement_reversals",
        sa.Column("reversal_id", sa.String(36), primary_key=True),
        sa.Column(
            "merchant_id", sa.String(255), sa.ForeignKey("merchants.merchant_id"), nullable=False
        ),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_settlement_payouts_key",
        "settlement_payouts",
        ["merchant_id", "currency_code", "payout_date"],
        unique=True,
    )
    op.create_index(
        "ix_settlement_payouts_merchant_date", "settlement_payouts", ["merchant_id", "payout_date"]
    )
    op.create_index(
        "ix_settlement_transactions_source",
        "settlement_transactions",
        ["order_id", "source_id", "detailed_type"],
        unique=True,
    )
    op.create_index(
        "ix_settlement_transactions_merchant",
        "settlement_transactions",
        ["merchant_id", "payout_date", "payment_reference", "line"],
    )
    op.create_index("ix_settlement_reversals_created", "settlement_reversals", ["created_at"])
    op.create_index("ix_om_captures_created", "om_captures", ["created_at"])
    op.create_index("ix_om_refunds_created", "om_refunds", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_om_refunds_created", table_name="om_refunds")
    op.drop_index("ix_om_captures_created", table_name="om_captures")
    op.drop_index("ix_settlement_reversals_created", table_name="settlement_reversals")
    op.drop_index("ix_settlement_transactions_merchant", table_name="settlement_transactions")
    op.drop_index("ix_settlement_transactions_source", table_name="settlement_transactions")
    op.drop_index("ix_settlement_payouts_merchant_date", table_name="settlement_payouts")
    op.drop_index("ix_settlement_payouts_key", table_name="settlement_payouts")
    op.drop_table("settlement_reversals")
    op.drop_table("settlement_transactions")
    op.drop_table("settlement_payouts")
