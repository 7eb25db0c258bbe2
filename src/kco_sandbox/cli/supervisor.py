"""`serve --workers N`: N server processes answering on one listening socket, and their parent.

The parent (`serve` itself) binds and listens once (so `--port 0` is one port, printed once), runs
the migrations and settles the merchants once, then starts N server processes with
multiprocessing's `spawn` (a fresh interpreter each: nothing of the parent's threads, locks or
database connections is copied). Each inherits the listening sockets and runs `serve_app` on
them, with the connection limits of one process; the kernel hands each new connection to one of
them.

Callbacks are delivered by the parent alone, by the same delivery worker a single `serve` runs:
one loop claiming from the outbox, so the process that answers requests is never also the one
queueing behind its own deliveries, and a server process that dies takes no delivery with it.
The outbox's leases stay what keeps a callback from going out twice (a clock advance, answered by
a server process, delivers what it made due itself, as in one process; `kco-sandbox worker`
processes may still run beside it).

What the processes share lives in the database, apart from three things in shared memory
(`Shared`), each cell written by one process only, so no lock is needed and a process killed at
any moment leaves nothing held:

- a counter per server process, raised each time it stored a clock move: every process reads
  them before it reads a clock, and reloads the stored offsets when they changed (`clock.py`,
  `MerchantClocks.follow`), so a clock moved through one process is moved in all of them at once;
- the pid of each server process once it accepts connections: the parent's "it started";
- the state of the parent's delivery worker, which every server process reports in
  `GET /_sandbox/health`.

Per process, as with one process: the connection limits, the metrics' counters, the buffered API
call log (each process writes its own about once a second), the portal's sign-in throttle, the
demo shop's list of pushes received, the synchronous callbacks' slots per merchant.

The parent restarts a server process that ends while it should run. A process that ends before
it ever accepted a connection could not start: at start-up that ends `serve` with exit status 1;
later (a restart), it is tried again after a pause, up to `FAILED_STARTS` times in a row. On
SIGINT or SIGTERM the parent sends SIGTERM to every server process (each finishes what it is
answering, as one `serve` does), waits `STOP_SECONDS`, kills what is left, then stops delivering.
A server process whose parent dies stops by itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import RawArray, RawValue
from typing import Any, Final

import click
from sqlalchemy.exc import SQLAlchemyError

from kco_sandbox import logs
from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.outbound.worker import Worker
from kco_sandbox.platform import build_services, delivery_round, form_key
from kco_sandbox.services.delivery import OFFSET_KEY
from kco_sandbox.services.health import WorkerState
from kco_sandbox.services.retention import RetentionService
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from kco_sandbox.web.app import build_app
from kco_sandbox.web.context import Services
from kco_sandbox.web.server_config import serve_app

log = logging.getLogger("kco_sandbox.processes")

TICK: Final = 0.2  # seconds between the parent's looks at its server processes
START_SECONDS: Final = 60.0  # a server process accepts connections within this, or is killed
STOP_SECONDS: Final = 30.0  # after SIGTERM, then SIGKILL
FAILED_STARTS: Final = 5  # restarts in a row that never served, before the parent gives up
RESTART_PAUSE_CAP: Final = 10.0
FLUSH_SECONDS: Final = 1.0  # a server process writes its buffered API call log this often

_DELIVERY_STATES: Final = ("off", "alive", "stopped")


class Shared:
    """The shared memory of one parent and its server processes (see the module docstring)."""

    def __init__(self, workers: int) -> None:
        self.clock_moves: Any = RawArray("q", workers)  # slot i: written by server process i
        self.serving: Any = RawArray("q", workers)  # slot i: its pid once it accepts connections
        self.delivery: Any = RawValue("b", 0)  # the parent's delivery worker: _DELIVERY_STATES

    def clock_version(self) -> bytes:
        """Every server process's count of stored clock moves: one copy of a few bytes."""
        return bytes(self.clock_moves)

    def delivery_state(self) -> str:
        return _DELIVERY_STATES[self.delivery.value]

    def set_delivery_state(self, state: str) -> None:
        self.delivery.value = _DELIVERY_STATES.index(state)


def follow_clocks(services: Services, store: Store, shared: Shared, slot: int | None) -> None:
    """Make this process's clocks follow every clock move any of the processes stores; a server
    process (`slot`) also counts the moves it stores itself."""
    if slot is not None:
        counted = threading.Lock()  # this process's threads raise its one counter in turn

        def moved() -> None:
            with counted:
                shared.clock_moves[slot] += 1

        store.state.watch(OFFSET_KEY, moved)

    def reload() -> bool:
        try:
            services.delivery.load()
        except SQLAlchemyError:  # the database is away: the offsets known serve until it is back
            return False
        return True

    services.clock.follow(shared.clock_version, reload)


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """What a server process is started with: the settings (with the port bound), the merchants
    the parent settled, and where the parent's scaled clock began."""

    settings: Settings
    merchants: tuple[Merchant, ...]
    clock_started: datetime


def run_server(spec: ServerSpec, slot: int, sockets: list[socket.socket], shared: Shared) -> None:
    """A server process: serve the app on the inherited sockets until SIGTERM or SIGINT."""
    settings = spec.settings
    logs.configure(settings.log_level, settings.log_format)
    # As in one `serve`: uvicorn stops gracefully, then re-raises the signal to these no-ops.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    _stop_with_parent()
    store = Store.for_url(settings.database_url, migrate=False)  # the parent migrated it
    clock = SystemClock(scale=settings.clock_scale, started=spec.clock_started)
    worker_state: WorkerState = shared.delivery_state
    services = build_services(settings, store, clock, worker_state=worker_state)
    follow_clocks(services, store, shared, slot)
    app = build_app(settings, services, list(spec.merchants), form_key(store))

    def flush() -> float:
        services.sandbox.flush_api_calls()
        return FLUSH_SECONDS

    flushing = Worker(flush, poll=FLUSH_SECONDS)
    flushing.start()

    def started() -> None:
        shared.serving[slot] = os.getpid()

    try:
        serve_app(app, settings, sockets, on_started=started)
    finally:
        flushing.stop()
        store.close()


def _stop_with_parent() -> None:
    """SIGTERM to this process when the parent is gone, however it ended (even by SIGKILL)."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:  # pragma: no cover - always set under spawn
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="kco-parent-watch", daemon=True).start()


def parent_delivery(settings: Settings, store: Store, clock: SystemClock, shared: Shared) -> Worker:
    """The parent's delivery worker: callbacks and retention, as one `serve` runs them."""
    services = build_services(settings, store, clock)
    follow_clocks(services, store, shared, None)
    retention = RetentionService(store, settings.retention_days, services.clock.now)
    return Worker(delivery_round(services, prune=retention.prune_if_due))


def exit_description(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Supervisor:
    """Starts the server processes, keeps them running, stops them (module docstring)."""

    def __init__(self, spec: ServerSpec, sockets: list[socket.socket], shared: Shared) -> None:
        self.spec = spec
        self.sockets = sockets
        self.shared = shared
        self.count = spec.settings.workers
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess | None] = [None] * self.count
        self.started_at = [0.0] * self.count
        self.failed_starts = [0] * self.count
        self.restart_at: list[float | None] = [None] * self.count
        self.stopping = threading.Event()

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p is not None and p.pid is not None]

    def _start(self, slot: int) -> None:
        self.shared.serving[slot] = 0
        process = self.context.Process(
            target=run_server,
            args=(self.spec, slot, self.sockets, self.shared),
            name=f"kco-sandbox-server-{slot + 1}",
        )
        process.start()
        self.processes[slot] = process
        self.started_at[slot] = time.monotonic()
        self.restart_at[slot] = None
        log.info("server process %d of %d started (pid %s)", slot + 1, self.count, process.pid)

    def _serving(self, slot: int) -> bool:
        process = self.processes[slot]
        return process is not None and self.shared.serving[slot] == process.pid

    def _wait(self) -> None:
        """Until a server process ends, a signal, or one tick."""
        sentinels = [p.sentinel for p in self.processes if p is not None and p.exitcode is None]
        if sentinels:
            wait(sentinels, TICK)
        else:
            self.stopping.wait(TICK)

    def start(self) -> None:
        """Start every server process and return once each accepts connections; a
        `ClickException` (exit status 1) if one cannot start."""
        for slot in range(self.count):
            self._start(slot)
        while not self.stopping.is_set():
            if all(self._serving(slot) for slot in range(self.count)):
                return
            for slot, process in enumerate(self.processes):
                assert process is not None
                late = time.monotonic() - self.started_at[slot] > START_SECONDS
                if process.exitcode is not None or late:
                    process.kill()
                    process.join()
                    raise click.ClickException(
                        f"server process {slot + 1} of {self.count} could not start "
                        f"({'no answer in time' if late else exit_description(process.exitcode)});"
                        " the log above says why"
                    )
            self._wait()

    def watch(self, delivery: Worker | None) -> None:
        """Keep the server processes running until `stopping` is set (by a signal)."""
        while not self.stopping.is_set():
            self.shared.set_delivery_state(delivery.state if delivery is not None else "off")
            for slot in range(self.count):
                self._look_after(slot)
            self._wait()

    def _look_after(self, slot: int) -> None:
        process = self.processes[slot]
        now = time.monotonic()
        if process is not None and process.exitcode is None:
            if self._serving(slot):
                self.failed_starts[slot] = 0
            elif now - self.started_at[slot] > START_SECONDS:
                log.error("server process %d (pid %s) did not start in time", slot + 1, process.pid)
                process.kill()
            return
        if process is not None:  # it ended on its own: say so once, and plan its restart
            process.join()
            served = self._serving(slot)
            self.processes[slot] = None
            if not served:
                self.failed_starts[slot] += 1
                if self.failed_starts[slot] >= FAILED_STARTS:
                    raise click.ClickException(
                        f"server process {slot + 1} of {self.count} could not start "
                        f"{FAILED_STARTS} times in a row ({exit_description(process.exitcode)})"
                    )
            pause = min(2.0 ** self.failed_starts[slot] - 1, RESTART_PAUSE_CAP)
            log.warning(
                "server process %d (pid %s) ended (%s); starting it again%s",
                slot + 1,
                process.pid,
                exit_description(process.exitcode),
                f" in {pause:g} s" if pause else "",
            )
            self.restart_at[slot] = now + pause
        restart_at = self.restart_at[slot]
        if restart_at is not None and now >= restart_at:
            self._start(slot)

    def stop(self) -> None:
        """SIGTERM to every server process, SIGKILL to those still running `STOP_SECONDS` later."""
        running = [p for p in self.processes if p is not None and p.exitcode is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            process.join(max(deadline - time.monotonic(), 0.0))
        for process in running:
            if process.exitcode is None:
                log.warning("server process (pid %s) killed: still running", process.pid)
                process.kill()
                process.join()


def supervise(
    settings: Settings,
    store: Store,
    clock: SystemClock,
    merchants: list[Merchant],
    sockets: list[socket.socket],
    serving: Callable[[list[int]], None],
) -> None:
    """Run `settings.workers` server processes on `sockets` (bound) until SIGINT or SIGTERM;
    `serving(pids)` once all of them accept connections. Delivers callbacks here when
    `settings.worker` is on."""
    for sock in sockets:
        sock.listen()  # connections wait in its queue until a server process takes them
    shared = Shared(settings.workers)
    spec = ServerSpec(settings, tuple(merchants), clock.started)
    supervisor = Supervisor(spec, sockets, shared)
    handlers = {
        signum: signal.signal(signum, lambda *_: supervisor.stopping.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    delivery = parent_delivery(settings, store, clock, shared) if settings.worker else None
    try:
        if delivery is not None:
            delivery.start()
            shared.set_delivery_state(delivery.state)
        supervisor.start()
        if not supervisor.stopping.is_set():
            serving(supervisor.pids())
        supervisor.watch(delivery)
    finally:
        supervisor.stop()
        if delivery is not None:
            delivery.stop()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
