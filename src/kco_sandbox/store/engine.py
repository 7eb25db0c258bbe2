"""`SqlStore`: the one store, for SQLite (embedded default) and PostgreSQL.

Engine differences are handled here and nowhere else:

- SQLite runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives the death of
  the process (`kill -9`); only a power cut can lose the last commits, which a sandbox accepts.
  pysqlite's own transaction handling is switched off and every write transaction starts with
  `BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of failing on a lock upgrade.
- SQLite keeps no time zone: timestamps are stored as UTC and given their zone back on reading.
- SQLite allows one writer at a time. Writers in this process take turns on a lock and share one
  connection: threads that raced for the database lock instead would sleep in SQLite's busy
  handler (milliseconds at a time), which showed as long tail latencies. Reads share another
  connection; in WAL mode they never wait for a writer. Other processes writing the same file
  still queue on the busy timeout. PostgreSQL uses the engine's connection pool.
- Concurrent updates of one order are serialised optimistically: `save_checkout` writes only if
  the `version` read is still current, and the caller retries on a conflict.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url

from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.order import CheckoutOrder
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.purchase.session import Session
from kco_sandbox.store import migration
from kco_sandbox.store.tables import checkout_orders, merchants, order_events

_WRITE = "kco_write"
_decode_order = msgspec.json.Decoder(CheckoutOrder).decode
_decode_session = msgspec.json.Decoder(Session).decode
_encode = msgspec.json.Encoder().encode


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


def _from_sqlite(value: Any) -> datetime:
    """A `DateTime` column read straight from SQLite (text), in UTC."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _sqlite_time(value: datetime) -> str:
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


class SqlStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._writer = _SharedConnection(engine, **{_WRITE: True})
        self._reader = _SharedConnection(engine)
        # Hands over buffered events to write with the next SQLite write transaction.
        self.passengers: Callable[[], list[dict[str, Any]]] | None = None

    @property
    def reads_are_local(self) -> bool:
        """Do reads finish in microseconds without waiting on locks or a network (SQLite, WAL)?"""
        return self._sqlite

    @classmethod
    def for_url(cls, url: str, *, migrate: bool = True) -> SqlStore:
        store = cls(engine_for(url))
        if migrate:
            store.upgrade()
        return store

    def upgrade(self) -> None:
        with self.engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
            migration.upgrade(conn)

    def close(self) -> None:
        self._writer.close()
        self._reader.close()
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (on SQLite: this process's writers take turns)."""
        if not self._sqlite:
            with self.engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
                yield conn
            return
        with self._writer.lock:
            conn = self._writer.get()
            with conn.begin():
                yield conn
                # Buffered diagnostic rows ride along in a transaction that commits anyway:
                # SQLite has one writer, and a commit of their own would make orders wait.
                if self.passengers is not None:
                    entries = self.passengers()
                    if entries:
                        self._insert_events(conn, entries)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read: one consistent snapshot."""
        if not self._sqlite:
            with self.engine.connect() as conn, conn.begin():
                yield conn
            return
        with self._reader.lock:
            conn = self._reader.get()
            with conn.begin():
                yield conn

    def time(self, value: datetime | None) -> datetime | None:
        """A timestamp as this engine stores it."""
        value = _db_time(value)
        return value.replace(tzinfo=None) if self._sqlite and value is not None else value

    # merchants

    def put_merchant(self, merchant: Merchant, now: datetime) -> None:
        """Insert `merchant`, or replace the stored one with the same id."""
        values = {
            "api_key": merchant.api_key,
            "name": merchant.name,
            "markets": json.dumps(list(merchant.markets)) if merchant.markets else None,
        }
        with self.write() as conn:
            changed = conn.execute(
                update(merchants).where(merchants.c.merchant_id == merchant.merchant_id),
                values,
            ).rowcount
            if not changed:
                conn.execute(
                    insert(merchants),
                    {"merchant_id": merchant.merchant_id, "created_at": self.time(now), **values},
                )

    def list_merchants(self) -> list[Merchant]:
        with self.read() as conn:
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

    # checkout orders

    def _checkout_values(self, record: CheckoutRecord) -> dict[str, Any]:
        return {
            "status": record.status.value,
            "version": record.version,
            "document": _encode(record.order).decode(),
            "last_modified_at": self.time(record.last_modified_at),
            "completed_at": self.time(record.completed_at),
            "expires_at": self.time(record.expires_at),
            "session": _encode(record.session).decode(),
        }

    def add_checkout(self, record: CheckoutRecord) -> None:
        with self.write() as conn:
            conn.execute(
                insert(checkout_orders),
                {
                    "order_id": record.order_id,
                    "merchant_id": record.merchant_id,
                    "started_at": self.time(record.started_at),
                    **self._checkout_values(record),
                },
            )

    def get_checkout(self, order_id: str) -> CheckoutRecord | None:
        # The hottest query: sent through the driver, and its row read here, because SQLAlchemy's
        # per-row processing cost more than the query itself.
        columns = (
            "order_id, merchant_id, status, version, document, started_at, last_modified_at, "
            "completed_at, expires_at, session"
        )
        if self._sqlite:
            # One SELECT is its own transaction in SQLite's autocommit mode: no BEGIN is needed.
            with self._reader.lock:
                raw = self._reader.get().connection.dbapi_connection
                assert raw is not None
                row = raw.execute(
                    f"SELECT {columns} FROM checkout_orders WHERE order_id = ?", (order_id,)
                ).fetchone()
        else:
            with self.read() as conn:
                row = conn.exec_driver_sql(
                    f"SELECT {columns} FROM checkout_orders WHERE order_id = %s", (order_id,)
                ).first()
        if row is None:
            return None
        when = _from_sqlite if self._sqlite else utc
        return CheckoutRecord(
            order_id=row[0],
            merchant_id=row[1],
            status=CheckoutStatus(row[2]),
            order=_decode_order(row[4]),
            started_at=when(row[5]),
            last_modified_at=when(row[6]),
            completed_at=when(row[7]) if row[7] is not None else None,
            expires_at=when(row[8]),
            version=row[3],
            session=_decode_session(row[9]),
        )

    def save_checkout(self, record: CheckoutRecord, expected_version: int) -> bool:
        """Write `record` if the stored version is still `expected_version`; False if it moved."""
        with self.write() as conn:
            return self.save_checkout_on(conn, record, expected_version)

    def save_checkout_on(
        self, conn: Connection, record: CheckoutRecord, expected_version: int
    ) -> bool:
        """`save_checkout` inside the caller's transaction."""
        changed = conn.execute(
            update(checkout_orders).where(
                checkout_orders.c.order_id == record.order_id,
                checkout_orders.c.version == expected_version,
            ),
            self._checkout_values(record),
        ).rowcount
        return bool(changed)

    def is_current(self) -> bool:
        """Does the database carry the newest schema version?"""
        return migration.current(self.engine) == migration.head()

    # events

    def add_event(self, order_id: str, at: datetime, kind: str, detail: dict[str, Any]) -> None:
        with self.write() as conn:
            conn.execute(
                insert(order_events),
                {
                    "order_id": order_id,
                    "at": self.time(at),
                    "kind": kind,
                    "detail": _encode(detail).decode(),
                },
            )

    def add_events(self, entries: list[dict[str, Any]]) -> None:
        """Several events in one transaction: `{"order_id", "at", "kind", "detail"}` each."""
        with self.write() as conn:
            self._insert_events(conn, entries)

    def _insert_events(self, conn: Connection, entries: list[dict[str, Any]]) -> None:
        # Through the driver's own `executemany`: this runs for every API call on an order (see
        # `web/call_log.py`), and the Core insert's per-row processing cost more than a read.
        if self._sqlite:
            marks = "?, ?, ?, ?"
            rows: list[tuple[Any, ...]] = [
                (e["order_id"], _sqlite_time(e["at"]), e["kind"], _encode(e["detail"]).decode())
                for e in entries
            ]
        else:
            marks = "%s, %s, %s, %s"
            rows = [
                (e["order_id"], e["at"], e["kind"], _encode(e["detail"]).decode()) for e in entries
            ]
        statement = f"INSERT INTO order_events (order_id, at, kind, detail) VALUES ({marks})"
        conn.exec_driver_sql(statement, rows)

    def list_events(self, order_id: str) -> list[dict[str, Any]]:
        """The order's events, oldest first, as `{"at", "kind", **detail}`."""
        with self.read() as conn:
            rows = conn.execute(
                select(order_events)
                .where(order_events.c.order_id == order_id)
                .order_by(order_events.c.event_id)
            ).all()
        return [
            {"at": utc(row.at), "kind": row.kind, **msgspec.json.decode(row.detail)} for row in rows
        ]
