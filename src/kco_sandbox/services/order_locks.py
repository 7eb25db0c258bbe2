"""One lock per order id inside this process, so concurrent writes to one order queue.

Order Management writes are optimistic: a write that lost to another re-reads and tries again.
Hundreds of writes to one order at once would mostly lose, over and over, so writers in this
process take the order's lock first and go one at a time; the optimistic check still guards
against writers in other processes (`kco-sandbox worker`, a second `serve`). A lock exists only
while someone holds or waits for it, so the table does not grow with the number of orders.

The event loop never waits for an order's lock. It runs a write itself only while it holds the
store's one SQLite writer (`AppContext.write_local`), and a worker thread may hold the order's
lock while it waits for that writer: waiting in turn would never end. Nor need it wait: while
it holds the writer no other writer of this process can commit, so its write goes ahead
without the lock (if the lock is taken), and the optimistic check orders it against the
worker's, which, having lost, reads the order again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class OrderLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}  # order id → lock, users

    @contextmanager
    def hold(self, order_id: str) -> Iterator[None]:
        """Hold `order_id`'s lock for the block, waiting for earlier holders first; on a thread
        running an event loop, hold it if it is free and else run the block without it (see
        the module docstring)."""
        with self._guard:
            lock, users = self._locks.get(order_id, (None, 0))
            lock = lock or threading.Lock()
            self._locks[order_id] = (lock, users + 1)
        try:
            if lock.acquire(blocking=not _on_event_loop()):
                try:
                    yield
                finally:
                    lock.release()
            else:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[order_id]
                if users == 1:
                    del self._locks[order_id]
                else:
                    self._locks[order_id] = (lock, users - 1)

    def __len__(self) -> int:
        """How many orders have a holder or a waiter now."""
        with self._guard:
            return len(self._locks)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
