"""One lock per order id inside this process, so concurrent writes to one order queue.

Order Management writes are optimistic: a write that lost to another re-reads and tries again.
Hundreds of writes to one order at once would mostly lose, over and over, so writers in this
process take the order's lock first and go one at a time; the optimistic check still guards
against writers in other processes (`kco-sandbox worker`, a second `serve`). A lock exists only
while someone holds or waits for it, so the table does not grow with the number of orders.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class OrderLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}  # order id → lock, users

    @contextmanager
    def hold(self, order_id: str) -> Iterator[None]:
        """Hold `order_id`'s lock for the block, waiting for earlier holders first."""
        with self._guard:
            lock, users = self._locks.get(order_id, (None, 0))
            lock = lock or threading.Lock()
            self._locks[order_id] = (lock, users + 1)
        try:
            with lock:
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
