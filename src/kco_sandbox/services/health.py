"""Can the platform do its work: does the database answer, does the delivery worker run; and how
loaded is the callback outbox.

`HealthService` answers `GET /_sandbox/health` (a container's or CI service's probe) and the
gauges that `/_sandbox/metrics` reads at each scrape. A database that does not answer is an
answer here, never an error: the probe must say so rather than fail.

Its time is the platform's base clock, never a merchant's (each merchant may have moved its own):
the outbox's load counts what is due at each merchant's own time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.store import Store
from kco_sandbox.store.outbox import Due

log = logging.getLogger("kco_sandbox.health")

WorkerState = Callable[[], str]
"""The delivery worker of this process: `alive`, `stopped` (its thread ended) or `off` (not run
here: `--no-worker`, or an app built without one)."""


def worker_off() -> str:
    return "off"


@dataclass(frozen=True, slots=True)
class Health:
    database_ok: bool
    worker: str
    now: datetime  # the platform's base clock (no merchant's offset)

    @property
    def ok(self) -> bool:
        """Serving as it should: the database answers, and a worker run here still runs."""
        return self.database_ok and self.worker != "stopped"


@dataclass(frozen=True, slots=True)
class OutboxLoad:
    """The outbox at a scrape: callbacks waiting, those already due, and how late the oldest is."""

    pending: int
    due: int
    # Platform seconds since the oldest pending callback fell due (at its merchant's time); 0 if
    # none.
    age_seconds: float


class HealthService:
    def __init__(
        self, store: Store, clocks: MerchantClocks, worker_state: WorkerState = worker_off
    ) -> None:
        self.store = store
        self.clocks = clocks
        self.worker_state = worker_state
        self._database_was_ok = True  # to log when it stops answering, not at every probe

    def check(self) -> Health:
        """The probe: one `SELECT 1` on the reading connection, and the worker's state."""
        try:
            self.store.ping()
        except SQLAlchemyError as exc:
            self._unreachable(exc)
            return Health(False, self.worker_state(), self.clocks.base.now())
        self._reachable()
        return Health(True, self.worker_state(), self.clocks.base.now())

    def outbox(self) -> OutboxLoad | None:
        """The outbox's load now; None while the database does not answer."""
        now = Due(self.clocks.default_now(), self.clocks.moved())
        try:
            oldest = self.store.outbox.next_due_at(now)  # in `now.default`'s time
            due = self.store.outbox.due_count(now)
            pending = self.store.outbox.pending_count()
        except SQLAlchemyError as exc:
            self._unreachable(exc)
            return None
        self._reachable()
        age = max((now.default - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
        return OutboxLoad(pending=pending, due=due, age_seconds=age)

    def _unreachable(self, exc: SQLAlchemyError) -> None:
        if self._database_was_ok:
            # The driver's own message (no SQL, no parameters): libpq and SQLite name the host or
            # the file and the reason, never a password.
            reason = str(getattr(exc, "orig", None) or type(exc).__name__).strip()
            log.warning("database unreachable: %s", reason.splitlines()[0] if reason else "?")
        self._database_was_ok = False

    def _reachable(self) -> None:
        if not self._database_was_ok:
            log.info("database answers again")
        self._database_was_ok = True
