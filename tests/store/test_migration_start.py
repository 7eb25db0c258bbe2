"""Starting on a current schema: recognised without loading Alembic; anything else migrates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kco_sandbox.store import Store, migration

CHECK = """
import sys
from kco_sandbox.store import Store
store = Store.for_url(sys.argv[1])
store.close()
print("alembic" in sys.modules)
"""


def loads_alembic(url: str) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", CHECK, url], capture_output=True, text=True, check=True
    )
    return done.stdout.strip() == "True"


def test_the_newest_revision_read_off_the_file_names_is_alembics_head() -> None:
    assert migration.newest() == migration.head()


def test_a_current_schema_starts_without_alembic_and_a_new_one_with_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'start.db'}"
    assert loads_alembic(url)  # a new file: the schema is made by the migrations
    assert migration.current(Store.for_url(url, migrate=False).engine) == migration.newest()
    assert not loads_alembic(url)  # current: one SELECT, no Alembic


def test_an_older_schema_is_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store.for_url(url, migrate=False)
    with store.engine.begin() as conn:
        migration.upgrade(conn, "0001")
    assert migration.current(store.engine) == "0001"
    store.close()
    assert loads_alembic(url)
    assert migration.current(Store.for_url(url, migrate=False).engine) == migration.newest()
