"""Every inbound API call on an order, recorded in the order's event log.

Calls are buffered in memory and written with the next write transaction on SQLite (which
commits anyway: SQLite has one writer, and a commit of the log's own would make orders wait),
else in batches of 200, by the delivery worker's rounds, before an order's events are read, and
at shutdown. A crash can lose the last unwritten entries; the log is a diagnostic record, not
part of any order's state.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Final

from kco_sandbox.clock import Clock
from kco_sandbox.store.engine import SqlStore

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
        store.passengers = self.take  # buffered calls ride along with the next write

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

    def take(self) -> list[dict[str, Any]]:
        """Everything buffered, handed to the caller to write."""
        with self._lock:
            batch, self._pending = self._pending, []
        return batch

    def flush(self) -> None:
        batch = self.take()
        if batch:
            self._store.add_events(batch)
