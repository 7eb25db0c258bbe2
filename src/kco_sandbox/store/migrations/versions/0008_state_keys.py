"""Longer keys in `platform_state`: a key names a merchant (`faults:{id}`,
`clock_offset_seconds:{id}`), and a merchant id may be 255 characters long.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("platform_state") as batch:
        batch.alter_column("key", type_=sa.String(320), existing_type=sa.String(64))


def downgrade() -> None:
    with op.batch_alter_table("platform_state") as batch:
        batch.alter_column("key", type_=sa.String(64), existing_type=sa.String(320))
