"""The delivery loop: run inside `kco-sandbox serve` (a thread) or as `kco-sandbox worker`.

The loop knows nothing of what a round does: it is given `run_round`, which does one round of
work and answers how many seconds to wait before the next (the composition root builds it from
the delivery service: catch up with the stored clock, deliver what is due, and wait until the
next callback falls due). A merchant's transport errors are recorded on the attempts, never
raised; a database error ends the round and the loop tries again after `poll` seconds, so a
restart of the database does not stop delivery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

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
