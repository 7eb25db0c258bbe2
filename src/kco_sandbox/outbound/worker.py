"""The delivery loop: run inside `kco-sandbox serve` (a thread) or as `kco-sandbox worker`.

Each round catches up with the stored clock offset, delivers what is due, then sleeps until the
next callback falls due (at most `poll` seconds, so callbacks queued by another process are seen).
Transport errors are recorded on the attempts by the dispatcher; a database error ends the round
and the loop tries again after the pause, so a restart of the database does not stop delivery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from kco_sandbox.services.delivery import Timekeeping

log = logging.getLogger("kco_sandbox.worker")


class Worker:
    def __init__(
        self,
        timekeeping: Timekeeping,
        poll: float = 1.0,
        each_round: Callable[[], None] | None = None,
    ) -> None:
        self.timekeeping = timekeeping
        self.poll = poll
        self.each_round = each_round  # e.g. writing the buffered API call log
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Deliver until `stop()`."""
        while not self.stopping.is_set():
            try:
                self.timekeeping.load()
                self.timekeeping.dispatcher.run_due()
                if self.each_round is not None:
                    self.each_round()
                pause = self._pause()
            except SQLAlchemyError:
                log.exception("callback delivery round failed; trying again")
                pause = self.poll
            self.stopping.wait(pause)

    def _pause(self) -> float:
        clock = self.timekeeping.clock
        due = self.timekeeping.outbox.next_due_at()
        if due is None:
            return self.poll
        seconds = (due - clock.now()).total_seconds() / clock.scale
        return min(max(seconds, 0.01), self.poll)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="kco-callbacks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
