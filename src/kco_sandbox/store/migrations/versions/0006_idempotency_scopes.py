"""Idempotency keys are scoped to the operation and the ids they acted on.

`idempotency_keys` gains `scope` (see `domain.order_management.idempotency.scope`: the operation,
the order, and the capture for a capture-level operation), and the primary key becomes
(`merchant_id`, `idempotency_key`, `scope`): the same key on another operation or order is a new
key, no longer a replay of the first.

Carry-over rule for existing rows (they never stored a capture id for capture-level operations):
`scope` is `<operation> <order_id>`, `<operation> *` when the order is not known, and `*` for
operation `unknown` (keys from before 0005 that named nothing). The service lets these broader
scopes answer the calls they cover, so a carried-over key answers what it answered before.

Downgrading drops `scope`; if a key was used in more than one scope, only its oldest row is kept
(the old primary key allows one row per key).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UNKNOWN = "unknown"
ANY = "*"

_keys = sa.table(
    "idempotency_keys",
    sa.column("merchant_id", sa.String),
    sa.column("idempotency_key", sa.String),
    sa.column("scope", sa.String),
    sa.column("operation", sa.String),
    sa.column("order_id", sa.String),
    sa.column("created_at", sa.DateTime),
)


def carried_over(operation: str, order_id: str | None) -> str:
    """The scope of an existing row (see the module docstring)."""
    if operation == UNKNOWN:
        return ANY
    return f"{operation} {order_id or ANY}"


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("scope", sa.String(255), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_keys.c.merchant_id, _keys.c.idempotency_key, _keys.c.operation, _keys.c.order_id)
    ).all()
    for row in rows:
        conn.execute(
            sa.update(_keys)
            .where(
                _keys.c.merchant_id == row.merchant_id,
                _keys.c.idempotency_key == row.idempotency_key,
            )
            .values(scope=carried_over(row.operation, row.order_id))
        )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("scope", existing_type=sa.String(255), nullable=False)
    _primary_key("merchant_id", "idempotency_key", "scope")


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            _keys.c.merchant_id, _keys.c.idempotency_key, _keys.c.scope, _keys.c.created_at
        ).order_by(_keys.c.created_at, _keys.c.scope)
    ).all()
    kept: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.merchant_id, row.idempotency_key)
        if key in kept:
            conn.execute(
                sa.delete(_keys).where(
                    _keys.c.merchant_id == row.merchant_id,
                    _keys.c.idempotency_key == row.idempotency_key,
                    _keys.c.scope == row.scope,
                )
            )
        kept.add(key)
    _primary_key("merchant_id", "idempotency_key")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("scope")


def _primary_key(*columns: str) -> None:
    """Make `columns` the primary key. SQLite's is unnamed: the table is copied into one built
    with the new key (its columns as they stand); PostgreSQL's is named by the table and dropped
    first."""
    if op.get_bind().dialect.name == "sqlite":
        shape = sa.Table(
            "idempotency_keys",
            sa.MetaData(),
            *(_column(name, name in columns) for name in _COLUMNS),
        )
        with op.batch_alter_table("idempotency_keys", copy_from=shape, recreate="always"):
            pass
        return
    op.drop_constraint("idempotency_keys_pkey", "idempotency_keys", type_="primary")
    op.create_primary_key("idempotency_keys_pkey", "idempotency_keys", list(columns))


# The table's columns from 0005 on, with `scope` (nullable only where the schema says so).
_COLUMNS = (
    "merchant_id",
    "idempotency_key",
    "scope",
    "created_at",
    "operation",
    "order_id",
    "created_id",
)


def _column(name: str, primary: bool) -> sa.Column[Any]:
    kind: sa.types.TypeEngine[Any] = (
        sa.DateTime(timezone=True)
        if name == "created_at"
        else sa.String(36)
        if name in ("order_id", "created_id")
        else sa.String(64)
        if name == "operation"
        else sa.String(255)
    )
    nullable = name in ("order_id", "created_id")
    return sa.Column(name, kind, primary_key=primary, nullable=nullable)
