"""The platform's own state that must survive a restart: each merchant's clock offset, its fault
settings; a row per key.

Several processes may share it (`serve --workers N`, `kco-sandbox worker`): `change` moves a value
in one transaction, so two processes moving the same key at once both count; `watch` tells this
process's caller each time a value it wrote is committed (the server processes tell each other
that a clock moved).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from kco_sandbox.store.engine import Database
from kco_sandbox.store.tables import platform_state

# A first write of a key racing another process's: the loser tries again, now as an update.
_INSERT_RACES = 3


class PlatformState:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._watchers: list[tuple[str, Callable[[], None]]] = []

    def watch(self, prefix: str, committed: Callable[[], None]) -> None:
        """Call `committed()` after each write of a key starting with `prefix` has committed."""
        self._watchers.append((prefix, committed))

    def _written(self, key: str) -> None:
        for prefix, committed in self._watchers:
            if key.startswith(prefix):
                committed()

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
        self._written(key)

    def change(self, key: str, step: Callable[[str | None], str]) -> str:
        """Store `step(value stored now)` at `key` (None: nothing stored yet) and return it, with
        no other write of `key` in between: the row is locked (PostgreSQL) or the database is
        (SQLite's write lock) from the read to the commit. `step` may raise to change nothing."""
        races = 0
        while True:
            try:
                value = self._change_once(key, step)
            except IntegrityError:  # another process stored the key first: read it again
                races += 1
                if races >= _INSERT_RACES:
                    raise
                continue
            self._written(key)
            return value

    def _change_once(self, key: str, step: Callable[[str | None], str]) -> str:
        with self.db.write() as conn:
            current = conn.execute(
                select(platform_state.c.value).where(platform_state.c.key == key).with_for_update()
            ).scalar()
            value = step(str(current) if current is not None else None)
            if current is None:
                conn.execute(insert(platform_state), {"key": key, "value": value})
            else:
                conn.execute(
                    update(platform_state).where(platform_state.c.key == key).values(value=value)
                )
        return value

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
