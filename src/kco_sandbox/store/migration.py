"""Run the Alembic migrations that ship inside the package against a database URL or engine.

Alembic (and the migration scripts) load only when the schema is not current: a database at the
newest revision, the usual case at every start but the first, is recognised with one `SELECT`
on `alembic_version`, which keeps the time from starting the server to its first answer short.
The newest revision is read off the scripts' file names (each starts with its four-digit
revision id; a test checks that Alembic agrees).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def newest() -> str:
    """The newest revision the scripts define (`0009` for `0009_portal_order_list.py`)."""
    return max(p.name[:4] for p in (SCRIPTS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade inside the caller's transaction on `connection` (nothing to do, and no Alembic
    loaded, when the schema is already at the newest revision and that is what is asked)."""
    if revision == "head" and _revision_on(connection) == newest():
        return
    from alembic import command

    command.upgrade(_config(connection), revision)


def head() -> str | None:
    """The head revision, as Alembic reads it off the scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision_on(connection)


def _revision_on(connection: Connection) -> str | None:
    """The revision the database is at (None: no schema yet). Several rows would be several
    heads, which this package never makes: then None, and Alembic decides."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return str(rows[0][0]) if len(rows) == 1 else None
