"""Writers at once: all land, each only once committed; on SQLite, queued writers share a commit.

Real threads over the real store. What a write committed is read back through an engine of its
own (another connection pool), as another process would see it. The SQLite-only tests hold the
writer inside one block until others queue behind it, so the shared transaction is certain, not
a matter of timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from kco_sandbox.domain.checkout.record import CheckoutRecord, build_order, new_record
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.domain.order_management.idempotency import Replay
from kco_sandbox.domain.order_management.lifecycle import OmAction
from kco_sandbox.ids import new_uuid
from kco_sandbox.store import Store
from kco_sandbox.store.engine import Database, engine_for
from kco_sandbox.store.orders import KeyAlreadyUsed, Remember
from kco_sandbox.store.tables import checkout_orders, idempotency_keys
from kco_sandbox.store.writer import SqliteWriter
from tests.factories import MERCHANT, make_order

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
WAIT = 10.0  # seconds a test waits for threads before it fails


def a_record() -> CheckoutRecord:
    return new_record(
        new_uuid(), MERCHANT.merchant_id, build_order({}, make_order(), VENDOR_MARKETS, True), NOW
    )


@pytest.fixture
def outside(store: Store) -> Iterator[Engine]:
    """An engine of its own on the store's database: sees only what was committed."""
    engine = engine_for(store.engine.url.render_as_string(hide_password=False))
    yield engine
    engine.dispose()


def stored_ids(engine: Engine, ids: list[str]) -> set[str]:
    with engine.connect() as conn:
        query = select(checkout_orders.c.order_id).where(checkout_orders.c.order_id.in_(ids))
        return set(conn.execute(query).scalars())


def stored_version(engine: Engine, order_id: str) -> int:
    with engine.connect() as conn:
        query = select(checkout_orders.c.version).where(checkout_orders.c.order_id == order_id)
        return int(conn.execute(query).scalar_one())


@contextmanager
def counted_commits(engine: Engine) -> Iterator[list[int]]:
    """The threads that committed on `engine` while this is open, one entry a commit."""
    threads: list[int] = []

    def commit(_conn: Any) -> None:
        threads.append(threading.get_ident())

    event.listen(engine, "commit", commit)
    try:
        yield threads
    finally:
        event.remove(engine, "commit", commit)


def run_in_threads(*calls: Callable[[], object]) -> list[object]:
    """Each call on a thread of its own; what each returned or raised, in order."""
    outcomes: list[object] = [None] * len(calls)

    def run(n: int) -> None:
        try:
            outcomes[n] = calls[n]()
        except Exception as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), "a writer never returned"
    return outcomes


def sqlite_writer(store: Store) -> SqliteWriter:
    if store.db.writer is None:
        pytest.skip("SQLite only: PostgreSQL commits each write alone")
    return store.db.writer


class FirstBlock:
    """A write whose block waits, holding the writer, until `behind` other writers queue; then
    it runs `body` on its connection and ends. Its result: what `body` returned, and what
    `after` returned, called as soon as the write returned."""

    def __init__(
        self,
        store: Store,
        behind: int,
        body: Callable[[Any], object],
        after: Callable[[], object] = lambda: None,
    ) -> None:
        self.store, self.behind, self.body, self.after = store, behind, body, after
        self.inside = threading.Event()

    def __call__(self) -> object:
        writer = sqlite_writer(self.store)
        with self.store.db.write() as conn:
            self.inside.set()
            deadline = time.monotonic() + WAIT
            while writer.queued < self.behind:
                assert time.monotonic() < deadline, "the other writers never queued"
                time.sleep(0.001)
            result = self.body(conn)
        return result, self.after()

    def then(self, *calls: Callable[[], object]) -> list[object]:
        """Run this block, and once it holds the writer, `calls`, each on a thread of its own."""
        first: list[object] = []
        thread = threading.Thread(target=lambda: first.extend(run_in_threads(self)))
        thread.start()
        assert self.inside.wait(WAIT)
        rest = run_in_threads(*calls)
        thread.join(WAIT)
        return first + rest


def insert_record(record: CheckoutRecord) -> Callable[[Any], object]:
    def body(conn: Any) -> object:
        conn.execute(insert(checkout_orders), _row(record))
        return "inserted"

    return body


def _row(record: CheckoutRecord) -> dict[str, Any]:
    return {
        "order_id": record.order_id,
        "merchant_id": record.merchant_id,
        "status": record.status.value,
        "version": record.version,
        "document": "{}",
        "started_at": NOW,
        "last_modified_at": NOW,
        "expires_at": NOW + timedelta(days=2),
        "session": "{}",
    }


# Both engines.


def test_many_threads_writing_at_once_all_commit_and_each_sees_its_row_on_return(
    store: Store, outside: Engine
) -> None:
    store.merchants.put(MERCHANT, NOW)
    threads, writes = 8, 25
    batches = [[a_record() for _ in range(writes)] for _ in range(threads)]

    def write_all(batch: list[CheckoutRecord]) -> int:
        unseen = 0
        for record in batch:
            store.checkouts.add(record)
            unseen += record.order_id not in stored_ids(outside, [record.order_id])
        return unseen

    outcomes = run_in_threads(*(lambda b=batch: write_all(b) for batch in batches))
    assert outcomes == [0] * threads  # every write was committed when it returned
    every = [record.order_id for batch in batches for record in batch]
    assert stored_ids(outside, every) == set(every)


def test_a_failing_writer_among_many_leaves_the_others_committed(
    store: Store, outside: Engine
) -> None:
    store.merchants.put(MERCHANT, NOW)
    records = [a_record() for _ in range(12)]
    doomed = records[5]

    def add(record: CheckoutRecord) -> object:
        with store.db.write() as conn:
            conn.execute(insert(checkout_orders), _row(record))
            if record is doomed:
                raise ValueError("this one changes its mind")
        return "added"

    outcomes = run_in_threads(*(lambda r=record: add(r) for record in records))
    assert [type(o).__name__ for o in outcomes].count("ValueError") == 1
    assert isinstance(outcomes[5], ValueError)
    ids = [r.order_id for r in records]
    assert stored_ids(outside, ids) == set(ids) - {doomed.order_id}


def test_a_buffered_call_rides_along_with_the_next_write_in_its_commit(store: Store) -> None:
    """On both engines: no commit of the call log's own."""
    store.merchants.put(MERCHANT, NOW)
    record = a_record()
    store.checkouts.add(record)
    store.events.buffer(record.order_id, MERCHANT.merchant_id, NOW, "api.call", {"status": 200})
    with counted_commits(store.engine) as commits:
        store.checkouts.add(a_record())
    assert len(commits) == 1
    assert store.events.pending == 0
    assert [e["kind"] for e in store.events.list(record.order_id)] == ["api.call"]


def test_a_full_call_log_buffer_is_never_written_by_the_thread_that_fills_it(
    store: Store,
) -> None:
    store.merchants.put(MERCHANT, NOW)
    record = a_record()
    store.checkouts.add(record)
    with counted_commits(store.engine) as commits:
        for n in range(250):  # past the buffer's batch of 200
            store.events.buffer(record.order_id, MERCHANT.merchant_id, NOW, "api.call", {"n": n})
        assert threading.get_ident() not in commits
        deadline = time.monotonic() + WAIT
        while store.events.pending > 50:  # written by a thread of the log's own
            assert time.monotonic() < deadline, "the full buffer was never written"
            time.sleep(0.01)
    assert threading.get_ident() not in commits
    store.events.flush()
    assert len(store.events.list(record.order_id)) == 250


# SQLite: the shared transaction.


def test_queued_writers_share_one_commit_and_a_failing_block_is_undone_alone(
    store: Store, outside: Engine
) -> None:
    sqlite_writer(store)
    store.merchants.put(MERCHANT, NOW)
    first, good, bad = a_record(), a_record(), a_record()
    ids = [first.order_id, good.order_id, bad.order_id]

    def add_good() -> object:
        store.checkouts.add(good)
        return stored_ids(outside, ids)

    def add_bad() -> object:
        with store.db.write() as conn:
            conn.execute(insert(checkout_orders), _row(bad))
            raise ValueError("changed its mind")

    block = FirstBlock(store, 2, insert_record(first), lambda: stored_ids(outside, ids))
    with counted_commits(store.engine) as commits:
        outcomes = block.then(add_good, add_bad)
    both = {first.order_id, good.order_id}
    # Each writer that returned found the whole batch committed: its own block and the others'.
    assert outcomes[:2] == [("inserted", both), both]
    assert isinstance(outcomes[2], ValueError)
    assert len(commits) == 1  # one transaction for the three blocks
    assert stored_ids(outside, ids) == both


def test_a_version_conflict_inside_a_batch_is_reported_after_the_winner_committed(
    store: Store, outside: Engine
) -> None:
    sqlite_writer(store)
    store.merchants.put(MERCHANT, NOW)
    record = a_record()
    store.checkouts.add(record)
    winner = record.aborted(NOW + timedelta(minutes=1))
    loser = record.aborted(NOW + timedelta(minutes=2))

    def lose() -> object:
        saved = store.checkouts.save(loser, expected_version=1)
        return saved, stored_version(outside, record.order_id)

    block = FirstBlock(store, 1, lambda conn: store.checkouts.save_on(conn, winner, 1))
    outcomes = block.then(lose)
    assert outcomes == [(True, None), (False, 2)]
    assert store.checkouts.get(record.order_id) == winner


def test_a_key_race_inside_a_batch_raises_key_already_used_after_the_winner_committed(
    store: Store, outside: Engine
) -> None:
    sqlite_writer(store)
    key = Remember(
        MERCHANT.merchant_id, "key-1", "capture:o-1", Replay(OmAction.CAPTURE, "o-1"), NOW
    )
    row = {
        "merchant_id": key.merchant_id,
        "idempotency_key": key.key,
        "scope": key.scope,
        "operation": OmAction.CAPTURE.value,
        "order_id": "o-1",
        "created_id": None,
        "created_at": NOW.replace(tzinfo=None),
    }

    def lose() -> object:
        try:
            store.orders.remember(key)
        except KeyAlreadyUsed:
            with outside.connect() as conn:
                return conn.execute(select(func.count()).select_from(idempotency_keys)).scalar()
        return "remembered"

    block = FirstBlock(store, 1, lambda conn: conn.execute(insert(idempotency_keys), row).rowcount)
    assert block.then(lose) == [(1, None), 1]  # the loser found the winner's key


def test_a_failed_commit_reaches_every_writer_of_the_batch(tmp_path: Path) -> None:
    """A deferred foreign key fails only at COMMIT: no block of the batch stays, each writer
    hears, and the next write starts afresh."""
    db = Database(engine_for(f"sqlite:///{tmp_path / 'deferred.db'}"))
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER "
            "REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    assert db.writer is not None
    writer = db.writer
    inside = threading.Event()

    def first() -> object:
        with db.write() as conn:
            inside.set()
            while writer.queued < 2:
                time.sleep(0.001)
            conn.exec_driver_sql("INSERT INTO parent (id) VALUES (1)")
        return "returned"

    def add(sql: str) -> Callable[[], object]:
        def run() -> object:
            with db.write() as conn:
                conn.exec_driver_sql(sql)
            return "returned"

        return run

    holder: list[object] = []
    thread = threading.Thread(target=lambda: holder.extend(run_in_threads(first)))
    thread.start()
    assert inside.wait(WAIT)
    rest = run_in_threads(
        add("INSERT INTO parent (id) VALUES (2)"),
        add("INSERT INTO child (id, parent_id) VALUES (1, 99)"),  # no parent 99: fails at COMMIT
    )
    thread.join(WAIT)
    assert [type(o) for o in holder + rest] == [IntegrityError] * 3
    with db.write() as conn:
        conn.exec_driver_sql("INSERT INTO parent (id) VALUES (3)")
    with db.read() as conn:
        assert conn.execute(text("SELECT id FROM parent")).scalars().all() == [3]
        assert conn.execute(text("SELECT count(*) FROM child")).scalar() == 0
    db.close()


def test_a_write_inside_a_write_of_the_same_thread_is_refused_not_a_deadlock(
    store: Store,
) -> None:
    sqlite_writer(store)
    with pytest.raises(RuntimeError, match="wait for itself"), store.db.write(), store.db.write():
        pass  # never reached
    store.merchants.put(MERCHANT, NOW)  # and the writer is free again


def test_a_held_writer_writes_at_once_and_never_waits(store: Store, outside: Engine) -> None:
    writer = sqlite_writer(store)
    store.merchants.put(MERCHANT, NOW)
    record = a_record()
    with store.hold_writer() as held:
        assert held
        with counted_commits(store.engine) as commits:
            store.checkouts.add(record)
        assert commits == [threading.get_ident()]  # committed before it returned, here
        assert stored_ids(outside, [record.order_id]) == {record.order_id}

    # Another thread inside a block: not held, at once.
    inside, leave = threading.Event(), threading.Event()

    def busy() -> None:
        with store.db.write():
            inside.set()
            assert leave.wait(WAIT)

    thread = threading.Thread(target=busy)
    thread.start()
    assert inside.wait(WAIT)
    started = time.monotonic()
    with store.hold_writer() as held:
        assert not held
    leave.set()
    thread.join(WAIT)

    # Another process holding the database's lock: not held either, and no busy wait.
    database = store.engine.url.database
    assert database is not None
    with subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, database], stdout=subprocess.PIPE, text=True
    ) as other:
        try:
            assert other.stdout is not None
            assert other.stdout.readline().strip() == "locked"
            with store.hold_writer() as held:
                assert not held
        finally:
            other.kill()
    assert time.monotonic() - started < 5  # the busy timeout is 30 s
    assert writer.queued == 0
    store.checkouts.add(a_record())  # the writer works on


_LOCK_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(60)
"""


# SQLite: kill -9 while batches are in flight.

_CRASH_WRITER = """
import sys, threading
from datetime import UTC, datetime
from kco_sandbox.domain.checkout.record import build_order, new_record
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.ids import new_uuid
from kco_sandbox.store import Store
from tests.factories import MERCHANT, make_order

store = Store.for_url("sqlite:///" + sys.argv[1])
now = datetime(2026, 5, 4, tzinfo=UTC)
store.merchants.put(MERCHANT, now)
order = build_order({}, make_order(), VENDOR_MARKETS, True)
said = threading.Lock()

def write_forever():
    while True:
        record = new_record(new_uuid(), MERCHANT.merchant_id, order, now)
        store.checkouts.add(record)
        with said:
            print(record.order_id, flush=True)

for _ in range(8):
    threading.Thread(target=write_forever, daemon=True).start()
threading.Event().wait()
"""


def test_kill_9_mid_batch_keeps_every_write_that_returned(tmp_path: Path) -> None:
    database = tmp_path / "crash.db"
    returned: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-c", _CRASH_WRITER, str(database)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as child:
        assert child.stdout is not None
        try:
            while len(returned) < 2000:
                line = child.stdout.readline()
                assert line, "the writer process ended by itself"
                returned.append(line.strip())
            os.kill(child.pid, signal.SIGKILL)  # with batches still open in its other threads
            child.wait(WAIT)
            returned += [line.strip() for line in child.stdout if line.strip()]
        finally:
            child.kill()
    engine = engine_for(f"sqlite:///{database}")
    try:
        assert stored_ids(engine, returned) == set(returned)
    finally:
        engine.dispose()
