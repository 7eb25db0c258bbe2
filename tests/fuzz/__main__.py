"""`scripts/fuzz`: start a server on a fresh database, fuzz it, print the report; exit 1 on a 5xx.

    python -m tests.fuzz [--examples N] [--seed S] [--postgres URL]

SQLite (the default) lives in a temporary folder; with `--postgres URL` (a server where the
user may create databases) a database of its own is created, migrated, and dropped at the end.
Exit status: 0 clean, 1 a 5xx (or another broken answer), 2 the vendor's files are missing.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kco_sandbox.store import Store
from tests.factories import MERCHANT, OTHER_MERCHANT
from tests.fuzz.report import render
from tests.fuzz.run import fuzz
from tests.fuzz.specs import missing
from tests.live import LiveServer


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A new, migrated database on the server at `url`, dropped afterwards."""
    admin_url = make_url(url).set(drivername="postgresql+psycopg")
    name = f"kco_fuzz_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        Store.for_url(database).close()  # migrate, as `kco-sandbox db upgrade` would
        yield database
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="cases per operation and mode")
    parser.add_argument("--seed", type=int, default=0, help="the same seed sends the same cases")
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL, not SQLite")
    args = parser.parse_args(argv)
    why = missing()
    if why is not None:
        print(why, file=sys.stderr)
        return 2
    # Without --postgres: LiveServer's default, SQLite in the temporary folder.
    database = postgres_database(args.postgres) if args.postgres else nullcontext(None)
    with tempfile.TemporaryDirectory(prefix="kco-fuzz-") as folder, database as url:
        server = LiveServer(Path(folder), [MERCHANT, OTHER_MERCHANT], database_url=url)
        server.start()
        try:
            report = fuzz(server.url, MERCHANT, OTHER_MERCHANT, args.examples, args.seed)
        finally:
            server.stop()
    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(render(report))
    print(f"engine: {engine}, examples per operation and mode: {args.examples}, seed: {args.seed}")
    return 1 if report.server_errors or report.broken else 0


if __name__ == "__main__":
    sys.exit(main())
