"""Callback targets: what else a callback is about, besides its order.

Webhooks and Hosted Payment Page status updates ride on the same outbox as pushes: a webhook
names the destination whose secrets sign each attempt, an HPP status update names its session.
`callbacks.target` holds that id; pushes and notifications leave it empty.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("target", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("target")
