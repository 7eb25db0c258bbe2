"""The platform's clock as a use-case: read it, move it forward, and deliver what fell due.

The clock's offset is stored with the data, so a restarted server (or a separate worker process)
continues at the time the platform had reached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from kco_sandbox.clock import MovableClock
from kco_sandbox.outbound.dispatcher import Dispatcher
from kco_sandbox.store.outbox import OutboxStore

OFFSET_KEY = "clock_offset_seconds"


@dataclass(frozen=True, slots=True)
class Advanced:
    now: datetime
    attempted: int


@dataclass(frozen=True, slots=True)
class Timekeeping:
    clock: MovableClock
    outbox: OutboxStore
    dispatcher: Dispatcher

    def load(self) -> None:
        """Continue at the stored offset (at start-up, and in a worker process's every round)."""
        stored = self.outbox.get_state(OFFSET_KEY)
        if stored is not None:
            self.clock.catch_up(timedelta(seconds=float(stored)))

    def advance(self, seconds: float) -> Advanced:
        """Move the clock forward and return once every callback now due has been attempted."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        before = self.outbox.attempt_count()
        self.load()
        now = self.clock.advance(timedelta(seconds=seconds))
        self.outbox.set_state(OFFSET_KEY, repr(self.clock.offset.total_seconds()))
        # Another worker's claim frees itself within one lease (a dead worker's too): wait for it
        # to be attempted, by that worker or, once the lease is over, by this loop.
        deadline = time.monotonic() + self.dispatcher.lease.total_seconds() + 5
        while True:
            self.dispatcher.run_due()
            # Another worker may hold some due callbacks: wait for it to finish them.
            if self.outbox.due_count(self.clock.now()) == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return Advanced(now, self.outbox.attempt_count() - before)
