"""`SqliteWriter`: this process's one SQLite writer, with group commit, and the WAL's checkpoints.

SQLite allows one writer at a time. Writers in this process take turns on one connection:
threads that raced for the database lock instead would sleep in SQLite's busy handler
(milliseconds at a time), which showed as long tail latencies.

Group commit. A write is a block of statements (`write`). A thread whose turn comes while a
transaction is open runs its block inside it, in a savepoint; the transaction commits when no
other writer waits for its turn (or after `MAX_BLOCKS` blocks), so writers that queue share one
`BEGIN IMMEDIATE ... COMMIT`. Each writer returns only after the COMMIT that holds its block: a
writer that returned has its rows on disk (WAL, `synchronous=NORMAL`: they survive `kill -9` of
the process). A block that raises is undone alone (`ROLLBACK TO` its savepoint) and its error goes
to its own caller, after the others' blocks before it committed (so a caller that lost a race on
a unique key finds the winner's row when it looks). If the COMMIT fails, every writer in the
batch gets the error. A writer waits for the batch's COMMIT with the turn released, so a thread
may write again once its write returned; a write inside a write of the same thread is refused
(it would wait for itself). Blocks in one batch see each other's rows before they commit: an
optimistic version check may lose to a block that is not committed yet, and its caller, told
only after that block committed, reads the winner when it tries again.

A writer held (`hold`): a thread that finds the writer free right now takes it without waiting
(the event loop, for a write shorter than the hop to a worker thread), opening the transaction
at once with the busy timeout off, so it never sleeps for another process's lock either; its
writes commit before they return, with any blocks other threads left in the open transaction.
While held, others queue.

Checkpoints. SQLite copies the WAL back into the database (a checkpoint, with an fsync) from
inside the COMMIT that crosses a size threshold, a few milliseconds every few hundred commits
on whichever thread made that commit: the event loop, for a held writer. So the writing
connection checkpoints never; a thread of its own does it about as often as SQLite would (every
`CHECKPOINT_PAGES` pages of WAL), taking its turn like a writer (it commits an open batch
first). No writer of this process appends meanwhile, so the checkpoint completes and the next
write starts the WAL over; one that ran beside the writers would leave the WAL growing without
end under steady writes.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.exc import OperationalError

from kco_sandbox.store.background import Nudged

MAX_BLOCKS = 64  # blocks in one transaction at most: a bound on any writer's wait
CHECKPOINT_PAGES = 1000  # SQLite's own default threshold
# Blocks between checkpoints, to start with; then set from the pages the last one found.
_FIRST_CHECKPOINT_AFTER = 300
# How long a writer waits for its batch's COMMIT before it checks that someone will make it.
_RESCUE_AFTER = 0.05
_SAVEPOINT = "kco_block"


class _Batch:
    """One open transaction: the blocks in it and, once it ended, its outcome."""

    __slots__ = ("blocks", "ended", "error", "transaction")

    def __init__(self, transaction: RootTransaction) -> None:
        self.transaction = transaction
        self.blocks = 0
        self.ended = False
        self.error: BaseException | None = None


class SqliteWriter:
    def __init__(self, engine: Engine, **options: Any) -> None:
        self._engine = engine
        self._options = options
        self._connection: Connection | None = None
        self._busy_timeout_ms = 0  # the connection's own, read when it opens
        self._turn = threading.Lock()
        # One entry for each thread between asking for the turn and having it: appending and
        # popping are atomic, so no lock of their own is needed.
        self._queue: list[None] = []
        self._batch: _Batch | None = None  # the open transaction
        self._ended = threading.Condition()  # a batch ended (writers waiting for theirs)
        self._holder: int | None = None  # the thread holding the writer (`hold`)
        self._in_block: int | None = None  # the thread running a block
        self._blocks = 0  # since the last checkpoint
        self._checkpoint_after = _FIRST_CHECKPOINT_AFTER
        self._checkpoints = Nudged("kco-wal-checkpoint", self._checkpoint)
        # Written once in each transaction, just before its COMMIT (see `engine.py`).
        self.ride_along: Callable[[Connection], None] | None = None

    @property
    def queued(self) -> int:
        """Writers of this process waiting for their turn now."""
        return len(self._queue)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A block of writes, committed before this returns (see the module docstring)."""
        me = threading.get_ident()
        if self._in_block == me:
            raise RuntimeError("a write inside a write of the same thread would wait for itself")
        held = self._holder == me
        if not held:
            self._take_turn()
        try:
            batch = self._batch if self._batch is not None else self._open()
            conn = self._get()
            raw = conn.connection.dbapi_connection
            assert raw is not None
            savepoint = batch.blocks > 0  # a first block that fails takes its transaction along
            if savepoint:
                raw.execute(f"SAVEPOINT {_SAVEPOINT}")
            failure: BaseException | None = None
            self._in_block = me
            try:
                yield conn
            except BaseException as exc:
                failure = exc
            finally:
                self._in_block = None
            if failure is None:
                if savepoint:
                    raw.execute(f"RELEASE {_SAVEPOINT}")
                batch.blocks += 1
            else:
                self._undo(batch, raw, savepoint, failure)
            if self._batch is batch and (held or not self._queue or batch.blocks >= MAX_BLOCKS):
                self._commit(batch)
        finally:
            if not held:
                self._turn.release()
        self._wait(batch)
        if failure is not None:
            raise failure
        if batch.error is not None:
            raise _for_this_thread(batch.error)

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """Take the writer for this thread if it is free right now, never waiting: True if taken
        (this thread's writes then commit as they end); False if another thread has it or
        another process holds the database's lock."""
        if self._holder == threading.get_ident():
            yield True
            return
        if not self._turn.acquire(blocking=False):
            yield False
            return
        try:
            if self._batch is None and not self._open_now():
                taken = False
            else:
                taken = True
                self._holder = threading.get_ident()
            yield taken
        finally:
            self._holder = None
            batch = self._batch
            # Nothing may stay open that no queued writer will commit.
            if batch is not None and not self._queue:
                if batch.blocks:
                    self._commit(batch)
                else:
                    self._end(batch, None)
            self._turn.release()

    def close(self) -> None:
        self._checkpoints.stop()
        with self._turn:
            if self._batch is not None:  # writers still waiting for it are told, not left
                self._end(self._batch, RuntimeError("the store closed before this write committed"))
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _take_turn(self) -> None:
        self._queue.append(None)
        try:
            self._turn.acquire()
        finally:
            self._queue.pop()

    def _get(self) -> Connection:
        if self._connection is None:
            conn = self._engine.connect().execution_options(**self._options)
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA wal_autocheckpoint=0")  # `_checkpoint` does it
            self._busy_timeout_ms = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
            self._connection = conn
        return self._connection

    def _open(self) -> _Batch:
        """BEGIN IMMEDIATE (the connection's `begin` event issues it)."""
        self._batch = _Batch(self._get().begin())
        return self._batch

    def _open_now(self) -> bool:
        """`_open` if the database's lock is free now; False if another process has it."""
        raw = self._get().connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA busy_timeout=0")
        try:
            self._open()
        except OperationalError:
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        return True

    def _undo(self, batch: _Batch, raw: Any, savepoint: bool, failure: BaseException) -> None:
        """Take back a block that raised `failure`: its savepoint, or the whole transaction if it
        was the first block or SQLite ended the transaction itself (a full disk, an I/O error),
        in which case the others' blocks are lost and their writers get `failure` too."""
        if savepoint and raw.in_transaction:
            try:
                raw.execute(f"ROLLBACK TO {_SAVEPOINT}")
                raw.execute(f"RELEASE {_SAVEPOINT}")
                return
            except Exception as exc:
                failure = exc
        self._end(batch, failure if batch.blocks else None)

    def _commit(self, batch: _Batch) -> None:
        """Write the ride-along rows and COMMIT; on failure every writer of the batch is told."""
        try:
            if self.ride_along is not None:
                self.ride_along(self._get())
            batch.transaction.commit()
        except BaseException as exc:
            self._end(batch, exc)
            return
        self._batch = None
        self._tell(batch)
        self._blocks += batch.blocks
        if self._blocks >= self._checkpoint_after:
            self._blocks = 0
            self._checkpoints.nudge()

    def _end(self, batch: _Batch, error: BaseException | None) -> None:
        """Roll the transaction back, with `error` for the writers of its blocks."""
        self._batch = None
        batch.error = error
        try:
            batch.transaction.rollback()
            raw = self._connection.connection.dbapi_connection if self._connection else None
            if raw is not None and raw.in_transaction:  # a COMMIT that failed leaves it open
                raw.rollback()
        except Exception:
            self._discard_connection()  # the next write starts on a new one
        self._tell(batch)

    def _tell(self, batch: _Batch) -> None:
        with self._ended:
            batch.ended = True
            self._ended.notify_all()

    def _discard_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # gone already
                connection.invalidate()

    def _wait(self, batch: _Batch) -> None:
        """Until `batch` ended. Writers left it open because another was about to take its turn;
        should that one never come (a thread interrupted on its way), a waiting writer that
        finds no one queued and the writer free commits the batch itself."""
        while not batch.ended:
            with self._ended:
                if batch.ended or self._ended.wait(_RESCUE_AFTER):
                    continue
            if not self._queue and self._turn.acquire(blocking=False):
                try:
                    if self._batch is batch:
                        self._commit(batch)
                finally:
                    self._turn.release()

    def _checkpoint(self) -> None:
        self._take_turn()
        try:
            if self._batch is not None:  # left open for this turn
                self._commit(self._batch)
            raw = self._get().connection.dbapi_connection
            assert raw is not None
            _busy, pages, _copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            self._turn.release()
        # The next one after as many blocks as made about `CHECKPOINT_PAGES` pages this time.
        if pages > 0:
            scaled = self._checkpoint_after * CHECKPOINT_PAGES // pages
            self._checkpoint_after = max(50, min(scaled, 100 * _FIRST_CHECKPOINT_AFTER))


def _for_this_thread(error: BaseException) -> BaseException:
    """`error` to raise in one more thread: a copy, so threads do not share one traceback."""
    try:
        twin = copy.copy(error)
    except Exception:
        return error
    twin.__cause__ = error  # where it happened: the thread that ended the batch
    return twin.with_traceback(None)
