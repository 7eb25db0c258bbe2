"""Retention: delete orders that stopped being changeable more than `retention_days` ago (on
their merchant's clock), with everything recorded about them, and idempotency keys older than
that, customer tokens unused for that long and settlement payouts dated before it on their own.

What counts as "no longer changeable", and from when, is `domain/retention.py`; the store
deletes in bounded transactions (`store/retention.py`). Two ways in:

- `prune_if_due`, from the delivery worker's round: at most once per `interval` seconds of wall
  time, and at most `max_batches` batches of each kind per merchant, so a round stays short
  however much is waiting; the rest goes in later rounds. Completed orders are found by scanning
  Order Management orders opened before the window (their status is derived from their
  document), resuming where the last round stopped.
- `prune`, for `kco-sandbox db prune`: everything due, now.

Time is asked of `now_for(merchant_id)`, so each merchant's orders are judged on that merchant's
clock, whichever clock object supplies it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from kco_sandbox.domain.retention import om_finished_at
from kco_sandbox.store import Store
from kco_sandbox.store.retention import Doomed, Removed


class RetentionService:
    def __init__(
        self,
        store: Store,
        retention_days: float,
        now_for: Callable[[str], datetime],
        *,
        batch: int = 500,
        max_batches: int = 4,
        interval: float = 60.0,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.retention_days = retention_days
        self.now_for = now_for
        self.batch = batch
        self.max_batches = max_batches
        self.interval = interval
        self.wall = wall
        self._last_run: float | None = None
        self._scan_from: dict[str, str] = {}  # merchant → the last Order Management order seen

    def prune_if_due(self) -> Removed | None:
        """A bounded prune, if `interval` has passed since the last (None: not yet)."""
        now = self.wall()
        if self._last_run is not None and now - self._last_run < self.interval:
            return None
        self._last_run = now
        return self._prune(self.max_batches)

    def prune(self) -> Removed:
        """Everything the window has passed, however long it takes."""
        self._scan_from.clear()
        return self._prune(None)

    def _prune(self, max_batches: int | None) -> Removed:
        removed = Removed()
        if self.retention_days <= 0:
            return removed
        window = timedelta(days=self.retention_days)
        for merchant_id in self.store.retention.merchant_ids():
            now = self.now_for(merchant_id)
            cutoff = now - window
            removed.add(self._expired(merchant_id, cutoff, max_batches))
            removed.add(self._finished(merchant_id, now, cutoff, max_batches))
            removed.idempotency_keys += self._batches(
                self.store.retention.delete_keys_before, merchant_id, cutoff, max_batches
            )
            removed.tokens += self._batches(
                self.store.retention.delete_tokens_unused_before, merchant_id, cutoff, max_batches
            )
            # Payouts dated before the window (each currency's latest stays: it holds the debt).
            removed.payouts += self._batches(
                self.store.settlements.delete_before, merchant_id, cutoff, max_batches
            )
        return removed

    def _expired(self, merchant_id: str, cutoff: datetime, max_batches: int | None) -> Removed:
        """Checkouts that never completed and expired before `cutoff`."""
        removed = Removed()
        batches = 0
        while max_batches is None or batches < max_batches:
            ids = self.store.retention.expired_checkouts(merchant_id, cutoff, self.batch)
            done = self.store.retention.delete_orders([Doomed(i) for i in ids], self.batch)
            removed.add(done)
            batches += 1
            if len(ids) < self.batch or done.orders == 0:
                break
        return removed

    def _finished(
        self, merchant_id: str, now: datetime, cutoff: datetime, max_batches: int | None
    ) -> Removed:
        """Completed orders whose Order Management order finished before `cutoff`."""
        removed = Removed()
        scan_from = self._scan_from.get(merchant_id, "")
        batches = 0
        while max_batches is None or batches < max_batches:
            candidates = self.store.retention.om_orders_created_before(
                merchant_id, cutoff, scan_from, self.batch
            )
            doomed = [
                Doomed(c.order_id, c.version)
                for c in candidates
                if (finished := om_finished_at(c.order, now)) is not None and finished < cutoff
            ]
            removed.add(self.store.retention.delete_orders(doomed, self.batch))
            batches += 1
            if len(candidates) < self.batch:
                scan_from = ""  # the end: the next scan starts again from the first order
                break
            scan_from = candidates[-1].order_id
        self._scan_from[merchant_id] = scan_from
        return removed

    def _batches(
        self,
        delete: Callable[[str, datetime, int], int],
        merchant_id: str,
        cutoff: datetime,
        max_batches: int | None,
    ) -> int:
        """Rows older than `cutoff` that go on their own, `batch` a transaction: idempotency keys
        recorded before it (whatever their order), customer tokens last used before it."""
        total = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            count = delete(merchant_id, cutoff, self.batch)
            total += count
            batches += 1
            if count < self.batch:
                break
        return total
