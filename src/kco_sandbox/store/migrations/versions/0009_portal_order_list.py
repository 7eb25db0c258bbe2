"""An index for the portal's list of a merchant's orders, newest first.

`checkout_orders (merchant_id, started_at, order_id)`: a page of `GET /portal/orders` is a
keyset read of one merchant's orders in this order (the order id breaks ties between orders
started in the same instant), so a page costs the same on the first page as on the thousandth.
The status filter and the reference search narrow the same walk; both are bounded by the
merchant and the page size.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_checkout_orders_merchant_started",
        "checkout_orders",
        ["merchant_id", "started_at", "order_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_checkout_orders_merchant_started", table_name="checkout_orders")
