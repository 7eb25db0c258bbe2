"""The platform's own state that must survive a restart: the clock's offset, fault settings."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from kco_sandbox.store.engine import Database
from kco_sandbox.store.tables import platform_state


class PlatformState:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> str | None:
        with self.db.read() as conn:
            value = conn.execute(
                select(platform_state.c.value).where(platform_state.c.key == key)
            ).scalar()
        return str(value) if value is not None else None

    def set(self, key: str, value: str) -> None:
        with self.db.write() as conn:
            changed = conn.execute(
                update(platform_state).where(platform_state.c.key == key).values(value=value)
            ).rowcount
            if not changed:
                conn.execute(insert(platform_state), {"key": key, "value": value})
