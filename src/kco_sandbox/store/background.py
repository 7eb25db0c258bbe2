"""`Nudged`: a job that runs on a thread of its own whenever it is nudged, off every request's path.

The thread starts on the first nudge (a store that never needs the job never has it) and runs
the job once for any number of nudges that arrive while it runs. A failing job is logged and
tried again at the next nudge: the jobs here (writing the buffered call log, checkpointing
SQLite's WAL) are housekeeping that must not take the process down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("kco_sandbox.store")


class Nudged:
    def __init__(self, name: str, job: Callable[[], None]) -> None:
        self._name = name
        self._job = job
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def nudge(self) -> None:
        """Run the job soon, on the job's thread; returns at once."""
        with self._lock:
            if self._stopping:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Let a running job finish, then end the thread; later nudges do nothing."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                self._job()
            except Exception:
                log.exception("%s failed; it runs again when next needed", self._name)
