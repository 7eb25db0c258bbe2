"""Idempotency keys keep what the first call did, not its HTTP answer.

`idempotency_keys` loses `status`, `headers` and `body` and gains `operation` (an `OmAction`
value), `order_id` and `created_id` (the capture or refund id the call created, if any). The web
layer renders a repeat's reply from these.

Carry-over rule for existing rows (the old rows never stored which operation answered):

- `201` with a `Capture-Id` header: operation `capture`, `created_id` = that id;
- `201` with a `Refund-Id` header: operation `refund`, `created_id` = that id;
  in both, `order_id` is read from the `Location` header (`.../orders/{order_id}/captures/{id}`),
  NULL if it cannot be (the reply then uses the repeat's order id);
- anything else (in practice `204`): operation `"unknown"`, `order_id` and `created_id` NULL. An
  unknown operation replays as `204` with no content, which is what those keys answered.

Downgrading writes the old answer back: `201` with `Capture-Id`/`Refund-Id` and a `Location`
holding the path only (the public base URL is not stored), or `204` with no headers.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UNKNOWN = "unknown"
_LOCATION = re.compile(r"/ordermanagement/v1/orders/(?P<order_id>[^/]+)/(?:captures|refunds)/")
# (operation, id header, collection in the path)
_CREATED = (("capture", "Capture-Id", "captures"), ("refund", "Refund-Id", "refunds"))

_keys = sa.table(
    "idempotency_keys",
    sa.column("merchant_id", sa.String),
    sa.column("idempotency_key", sa.String),
    sa.column("status", sa.Integer),
    sa.column("headers", sa.Text),
    sa.column("body", sa.Text),
    sa.column("operation", sa.String),
    sa.column("order_id", sa.String),
    sa.column("created_id", sa.String),
)


def carried_over(status: int, headers: dict[str, Any]) -> dict[str, str | None]:
    """The new columns for an old row's stored answer (see the module docstring)."""
    by_name = {str(name).lower(): str(value) for name, value in headers.items()}
    if status == 201:
        for operation, header, _ in _CREATED:
            created_id = by_name.get(header.lower())
            if created_id:
                found = _LOCATION.search(by_name.get("location", ""))
                order_id = found.group("order_id") if found else None
                return {"operation": operation, "order_id": order_id, "created_id": created_id}
    return {"operation": UNKNOWN, "order_id": None, "created_id": None}


def _where(row: Any) -> Any:
    return sa.and_(
        _keys.c.merchant_id == row.merchant_id,
        _keys.c.idempotency_key == row.idempotency_key,
    )


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("operation", sa.String(64), nullable=True))
        batch.add_column(sa.Column("order_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("created_id", sa.String(36), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_keys.c.merchant_id, _keys.c.idempotency_key, _keys.c.status, _keys.c.headers)
    ).all()
    for row in rows:
        try:
            headers = json.loads(row.headers or "{}")
        except ValueError:
            headers = {}
        new = carried_over(row.status, headers if isinstance(headers, dict) else {})
        conn.execute(sa.update(_keys).where(_where(row)).values(**new))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("operation", existing_type=sa.String(64), nullable=False)
        batch.drop_column("status")
        batch.drop_column("headers")
        batch.drop_column("body")


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("status", sa.Integer, nullable=True))
        batch.add_column(sa.Column("headers", sa.Text, nullable=True))
        batch.add_column(sa.Column("body", sa.Text, nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            _keys.c.merchant_id,
            _keys.c.idempotency_key,
            _keys.c.operation,
            _keys.c.order_id,
            _keys.c.created_id,
        )
    ).all()
    for row in rows:
        status, headers = 204, {}
        for operation, header, collection in _CREATED:
            if row.operation == operation and row.created_id and row.order_id:
                path = f"/ordermanagement/v1/orders/{row.order_id}/{collection}/{row.created_id}"
                status, headers = 201, {"Location": path, header: row.created_id}
        conn.execute(
            sa.update(_keys)
            .where(_where(row))
            .values(status=status, headers=json.dumps(headers), body="")
        )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("status", existing_type=sa.Integer, nullable=False)
        batch.alter_column("headers", existing_type=sa.Text, nullable=False)
        batch.alter_column("body", existing_type=sa.Text, nullable=False)
        batch.drop_column("created_id")
        batch.drop_column("order_id")
        batch.drop_column("operation")
