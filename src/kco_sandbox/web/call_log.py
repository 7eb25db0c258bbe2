"""Every inbound API call on an order, recorded in the order's event log.

Calls are buffered in memory and written in batches of a few hundred (when the buffer fills, by
the delivery worker's rounds, before an order's events are read, and at shutdown), so that most
calls cost an append to a list; measured against writing them in a thread of their own or once a
second, this made the fewest requests wait. A crash can lose the last unwritten entries; the log
is a diagnostic record, not part of any order's state.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Final

from kco_sandbox.clock import Clock
from kco_sandbox.store.sql import SqlStore

_ORDER_PATH: Final = re.compile(
    r"^/(?:checkout/v3|ordermanagement/v1|_sandbox)/orders/(?P<id>[0-9a-fA-F-]{36})(?:/|$)"
)
_LOCATION: Final = re.compile(rb"/orders/(?P<id>[0-9a-fA-F-]{36})$")


def order_of(path: str, location: bytes | None) -> str | None:
    """The order a call is about: from its path, or a create's `Location`."""
    found = _ORDER_PATH.match(path)
    if found:
        return found.group("id")
    if location:
        created = _LOCATION.search(location)
        if created:
            return created.group("id").decode()
    return None


class CallLog:
    def __init__(self, store: SqlStore, clock: Clock, batch: int = 200) -> None:
        self._store = store
        self._clock = clock
        self._batch = batch
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(
        self, order_id: str, method: str, path: str, status: int, correlation_id: str
    ) -> None:
        entry = {
            "order_id": order_id,
            "at": self._clock.now(),
            "kind": "api.call",
            "detail": {
                "method": method,
                "path": path,
                "status": status,
                "correlation_id": correlation_id,
            },
        }
        with self._lock:
            self._pending.append(entry)
            full = len(self._pending) >= self._batch
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self._store.add_events(batch)
