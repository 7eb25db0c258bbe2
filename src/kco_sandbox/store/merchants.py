"""Stored merchants: credentials, store name and markets (the demo merchant survives restarts)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import insert, select, update

from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.store.engine import Database
from kco_sandbox.store.tables import merchants


class Merchants:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, merchant: Merchant, now: datetime) -> None:
        """Insert `merchant`, or replace the stored one with the same id."""
        values = {
            "api_key": merchant.api_key,
            "name": merchant.name,
            "markets": json.dumps(list(merchant.markets)) if merchant.markets else None,
        }
        with self.db.write() as conn:
            changed = conn.execute(
                update(merchants).where(merchants.c.merchant_id == merchant.merchant_id),
                values,
            ).rowcount
            if not changed:
                conn.execute(
                    insert(merchants),
                    {
                        "merchant_id": merchant.merchant_id,
                        "created_at": self.db.time(now),
                        **values,
                    },
                )

    def list(self) -> list[Merchant]:
        with self.db.read() as conn:
            rows = conn.execute(select(merchants).order_by(merchants.c.created_at)).all()
        return [
            Merchant(
                merchant_id=row.merchant_id,
                api_key=row.api_key,
                name=row.name,
                markets=tuple(json.loads(row.markets)) if row.markets else None,
            )
            for row in rows
        ]

    def get(self, merchant_id: str) -> Merchant | None:
        return next((m for m in self.list() if m.merchant_id == merchant_id), None)
