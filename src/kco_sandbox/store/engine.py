"""`Database`: transactions on SQLite (embedded default) or PostgreSQL, the one engine layer.

Engine differences are handled here and nowhere else (the table modules beside it write plain
SQLAlchemy Core on the connections this hands out):

- SQLite runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives the death of
  the process (`kill -9`); only a power cut can lose the last commits, which a sandbox accepts.
  pysqlite's own transaction handling is switched off and every write transaction starts with
  `BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of failing on a lock upgrade.
- SQLite keeps no time zone: timestamps are stored as UTC and given their zone back on reading.
- SQLite allows one writer at a time. Writers in this process take turns on one connection and
  share a transaction when several wait (group commit), and the WAL is checkpointed on a thread of
  its own: see `writer.py`. `hold_writer` lets a thread (the event loop) write right away when the
  writer is free, never waiting. Reads share another connection; in WAL mode they never wait for
  a writer. Other processes writing the same file still queue on the busy timeout.
- PostgreSQL uses the engine's connection pool, each write a transaction of its own: the server
  already groups the WAL flushes of transactions that commit together (its own group commit), and
  a transaction shared across requests would hold each one's row locks until the last is done.
- Buffered rows that must not cost a commit of their own (the API call log, see `events.py`) are
  handed to `Database` as a `ride_along` source, written inside the next write transaction (which
  commits anyway) on either engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from kco_sandbox.store import migration
from kco_sandbox.store.writer import SqliteWriter

_WRITE = "kco_write"


def engine_for(url: str) -> Engine:
    """An engine for `url`, with the SQLite settings described in the module docstring."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": 30})
        _tune_sqlite(engine)
        return engine
    return create_engine(parsed, pool_size=10, max_overflow=30, pool_pre_ping=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writes take the database lock up front. A read is one SELECT, which SQLite runs in a
        # transaction of its own, so it needs no BEGIN (and no COMMIT).
        if connection.get_execution_options().get(_WRITE, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def utc(value: datetime) -> datetime:
    """A timestamp read from the database, in UTC (SQLite keeps no zone)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def from_sqlite(value: Any) -> datetime:
    """A `DateTime` column read straight from SQLite (text), in UTC."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def sqlite_time(value: datetime) -> str:
    """UTC in the text form SQLAlchemy's SQLite `DateTime` stores and reads back."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _db_time(value: datetime | None) -> datetime | None:
    """UTC, and naive on SQLite, so that stored values compare correctly as text."""
    return value.astimezone(UTC) if value is not None else None


class _SharedConnection:
    """One connection, opened on first use, used by one thread at a time."""

    def __init__(self, engine: Engine, **options: Any) -> None:
        self._engine = engine
        self._options = options
        self._connection: Connection | None = None
        self.lock = threading.Lock()

    def get(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(**self._options)
        return self._connection

    def close(self) -> None:
        with self.lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class Database:
    """Transactions on one engine: `write()` and `read()`, and the engine's time format."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.writer = SqliteWriter(engine, **{_WRITE: True}) if self.is_sqlite else None
        self.reader = _SharedConnection(engine)
        self._ride_along: Callable[[Connection], None] | None = None

    @property
    def ride_along(self) -> Callable[[Connection], None] | None:
        """Rows to write inside the next write transaction (see the module docstring)."""
        return self._ride_along

    @ride_along.setter
    def ride_along(self, source: Callable[[Connection], None] | None) -> None:
        self._ride_along = source
        if self.writer is not None:
            self.writer.ride_along = source

    @property
    def reads_are_local(self) -> bool:
        """Do reads finish in microseconds without waiting on locks or a network (SQLite, WAL)?"""
        return self.is_sqlite

    def upgrade(self) -> None:
        with self.engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
            migration.upgrade(conn)

    def is_current(self) -> bool:
        """Does the database carry the newest schema version?"""
        return migration.current(self.engine) == migration.head()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader.close()
        self.engine.dispose()

    def write(self) -> AbstractContextManager[Connection]:
        """A write transaction, committed when the block ends (on SQLite the block may share
        its transaction with other threads' blocks, and still returns only once committed: see
        `writer.py`)."""
        if self.writer is not None:
            return self.writer.write()
        return self._write_alone()

    @contextmanager
    def _write_alone(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
            yield conn
            if self._ride_along is not None:
                self._ride_along(conn)

    def hold_writer(self) -> AbstractContextManager[bool]:
        """This thread's writes start at once if the writer is free right now (SQLite, see
        `SqliteWriter.hold`): True; False, and nothing held, if they might wait (always on
        PostgreSQL, where a write is a network round trip)."""
        if self.writer is not None:
            return self.writer.hold()
        return nullcontext(False)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read: one consistent snapshot."""
        if not self.is_sqlite:
            with self.engine.connect() as conn, conn.begin():
                yield conn
            return
        with self.reader.lock:
            conn = self.reader.get()
            with conn.begin():
                yield conn

    def time(self, value: datetime | None) -> datetime | None:
        """A timestamp as this engine stores it."""
        value = _db_time(value)
        return value.replace(tzinfo=None) if self.is_sqlite and value is not None else value
