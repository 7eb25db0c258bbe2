"""The platform's own state that must survive a restart: each merchant's clock offset, its fault
settings; a row per key."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

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

    def with_prefix(self, prefix: str) -> dict[str, str]:
        """Every key starting with `prefix` (without it), and its value: one query for, e.g.,
        every merchant's clock offset."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(platform_state.c.key, platform_state.c.value).where(
                    platform_state.c.key.startswith(prefix, autoescape=True)
                )
            ).all()
        return {str(row.key)[len(prefix) :]: str(row.value) for row in rows}

    def set(self, key: str, value: str) -> None:
        with self.db.write() as conn:
            changed = conn.execute(
                update(platform_state).where(platform_state.c.key == key).values(value=value)
            ).rowcount
            if not changed:
                conn.execute(insert(platform_state), {"key": key, "value": value})

    def setdefault(self, key: str, value: str) -> str:
        """The value stored at `key`, storing `value` first if there is none. Two processes
        starting at once agree on one value: the second insert fails and reads the first's."""
        stored = self.get(key)
        if stored is not None:
            return stored
        try:
            with self.db.write() as conn:
                conn.execute(insert(platform_state), {"key": key, "value": value})
        except IntegrityError:
            pass
        found = self.get(key)
        assert found is not None  # inserted above, by this process or another
        return found
