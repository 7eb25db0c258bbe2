"""The delivery loop: run inside `kco-sandbox serve` (a thread) or as `kco-sandbox worker`.

The loop knows nothing of what a round does: it is given `run_round`, which does one round of
work and answers how many seconds to wait before the next (the composition root builds it from
the delivery service: catch up with the stored clock, deliver what is due, and wait until the
next callback falls due). A merchant's transport errors are recorded on the attempts, never
raised; a database error ends the round and the loop tries again after `poll` seconds, so a
restart of the database does not stop delivery.

`Lanes` runs each merchant's deliveries on a thread of that merchant's own (a lane), at most
`limit` lanes at once: one merchant's slow endpoint or `delay_ms` fault holds up only its own
callbacks, never another merchant's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("kco_sandbox.worker")

Round = Callable[[], float]
"""One round of work; the seconds to wait before the next."""


class Worker:
    def __init__(self, run_round: Round, poll: float = 1.0) -> None:
        self.run_round = run_round
        self.poll = poll  # the pause after a failed round
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Run rounds until `stop()` (or `stopping` is set, e.g. by a signal handler)."""
        while not self.stopping.is_set():
            try:
                pause = self.run_round()
            except SQLAlchemyError:
                log.exception("callback delivery round failed; trying again")
                pause = self.poll
            self.stopping.wait(pause)

    @property
    def state(self) -> str:
        """`alive` while the loop's thread runs, else `stopped` (not started, stopping, or ended
        by an error it could not survive): what `GET /_sandbox/health` reports."""
        thread = self._thread
        running = thread is not None and thread.is_alive() and not self.stopping.is_set()
        return "alive" if running else "stopped"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="kco-callbacks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)


MAX_LANES = 16


class Lanes:
    """A thread per merchant with callbacks to deliver (its lane), at most `limit` at once.

    A merchant whose lane runs gets no second one: its callbacks go out one after the other, so
    its counted faults are used up in order. Merchants beyond `limit` wait for a lane to end.
    """

    def __init__(self, limit: int = MAX_LANES) -> None:
        self.limit = limit
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def busy(self) -> frozenset[str]:
        """The merchants whose lane runs now."""
        with self._lock:
            return frozenset(self._running)

    def start(self, merchant_id: str, work: Callable[[], object]) -> bool:
        """Run `work` on `merchant_id`'s lane, unless it runs already or every lane is taken."""
        with self._lock:
            if merchant_id in self._running or len(self._running) >= self.limit:
                return False
            thread = threading.Thread(
                target=self._run, args=(merchant_id, work), name="kco-callbacks-lane", daemon=True
            )
            self._running[merchant_id] = thread
        thread.start()
        return True

    def _run(self, merchant_id: str, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:
            # A lane must never take the loop down: what it held is claimed again once its lease
            # is over, by the next round.
            log.exception("callback delivery for merchant %s failed; trying again", merchant_id)
        finally:
            with self._lock:
                del self._running[merchant_id]

    def wait(self, timeout: float = 30.0) -> None:
        """Until every lane running now has ended (at most `timeout` seconds each)."""
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout)

    def run_all(self, work: Mapping[str, Callable[[], int]]) -> int:
        """Run each merchant's `work` on a lane of its own, all at once, and wait for them all;
        the sum of what they answer."""
        if len(work) <= 1:
            return sum(run() for run in work.values())
        with ThreadPoolExecutor(min(len(work), self.limit), "kco-callbacks-lane") as pool:
            return sum(pool.map(lambda run: run(), work.values()))
