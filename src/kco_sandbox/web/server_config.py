"""Running the app under uvicorn, the same way whoever starts it: `uvicorn_config` builds the one
`uvicorn.Config` from `Settings`, `serve_app` runs it on bound sockets with the connection limits.

`kco-sandbox serve` calls `serve_app`; the pytest plugin's server (`client/server.py`) and the
tests' `LiveServer` (`tests/live.py`) run `kco-sandbox serve`, so all three get the same limits.
With `serve --workers N` each of the N server processes calls `serve_app` on the same listening
sockets, inherited from the parent that bound them (`cli/supervisor.py`): the limits below are
per process.

Connections are accepted here rather than by asyncio's server, so that their number is capped
(`ConnectionGate`, `web/connections.py`) with nothing logged per connection: past
`max_connections` a new connection waits in the listen queue (after the longest-idle one has
been closed to make room, if any is idle) instead of being accepted until the process runs out of
file descriptors. asyncio's own accept loop, once out of them, logs an error with a traceback for
every attempt, hundreds a second. uvicorn's `limit_concurrency` is not used: it still accepts
every socket, and answers 503 per request when there are more tasks than the limit.

The cap stays below the process's open-file limit (raised to its hard limit at start), with
`RESERVED_FDS` kept for the database, the callbacks' HTTP connections and the log.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from typing import Final

import uvicorn
from starlette.types import ASGIApp

from kco_sandbox.logs import ConnectionLog
from kco_sandbox.settings import Settings
from kco_sandbox.web.connections import ConnectionGate, Connections
from kco_sandbox.web.h11_protocol import TolerantH11Protocol
from kco_sandbox.web.httptools_protocol import TolerantHttpToolsProtocol

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]

log = logging.getLogger("kco_sandbox.connections")

# The protocol classes by `--http` (web/protocol.py).
PROTOCOLS: Final[dict[str, type[TolerantHttpToolsProtocol] | type[TolerantH11Protocol]]] = {
    "httptools": TolerantHttpToolsProtocol,
    "h11": TolerantH11Protocol,
}

RESERVED_FDS: Final = 256
# A soft limit raised past this gains nothing (an unlimited hard limit is not a number to use).
_FILE_LIMIT_CEILING: Final = 1 << 20
# Running out of descriptors or memory: accept again after this pause, not in a busy loop.
_ACCEPT_RETRY_SECONDS: Final = 0.1
_OUT_OF_RESOURCES: Final = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def uvicorn_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """The one uvicorn configuration of the platform (the protocol's own limits come from
    `connections_for`)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=PROTOCOLS[settings.http],
        server_header=False,
        date_header=False,
        log_level=settings.log_level,
        # uvicorn's records go to the handler `logs.configure` set up, in the same format; the
        # access line is the platform's own (`kco_sandbox.access`), so uvicorn's stays off.
        log_config=None,
        access_log=False,
        lifespan="off",
        # Upgrades are refused (the platform serves no WebSockets) without a library to load.
        ws="none",
    )


def raise_file_limit() -> int:
    """Raise the soft open-file limit to the hard one; the soft limit then in force."""
    if resource is None:  # pragma: no cover - not on Windows
        return _FILE_LIMIT_CEILING
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _FILE_LIMIT_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # a platform that caps it lower (macOS): keep the soft
            pass
    return _FILE_LIMIT_CEILING if soft == resource.RLIM_INFINITY else soft


def connection_cap(max_connections: int, file_limit: int) -> int:
    """`max_connections`, lowered to leave `RESERVED_FDS` of `file_limit` (at least 1)."""
    return max(1, min(max_connections, file_limit - RESERVED_FDS))


def connections_for(settings: Settings, cap: int, connection_log: ConnectionLog) -> Connections:
    """What the connections of a server run with these settings share. Call it in the running
    event loop (the gate waits on it)."""
    return Connections(
        idle_timeout=settings.idle_timeout,
        request_timeout=settings.request_timeout,
        gate=ConnectionGate(cap, connection_log),
        log=connection_log,
    )


class CappedServer(uvicorn.Server):
    """uvicorn's server, accepting connections itself through the gate (module docstring)."""

    def __init__(
        self,
        config: uvicorn.Config,
        settings: Settings,
        cap: int,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.settings = settings
        self.cap = cap
        self.on_started = on_started
        self.connection_log = ConnectionLog()
        self._accepting: list[asyncio.Task[None]] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        assert sockets, "CappedServer serves sockets bound beforehand"
        await super().startup(sockets=[])  # the app and the shared state, no asyncio server
        connections = connections_for(self.settings, self.cap, self.connection_log)
        loop = asyncio.get_running_loop()
        for sock in sockets:
            # Listening already in a server process of `--workers N` (the parent listened); this
            # only sets the backlog again. Non-blocking holds for every process sharing it.
            sock.listen(self.config.backlog)
            sock.setblocking(False)
            self._accepting.append(loop.create_task(self._accept(sock, connections)))
        if self.on_started is not None:
            self.on_started()

    async def _accept(self, sock: socket.socket, connections: Connections) -> None:
        loop = asyncio.get_running_loop()
        gate = connections.gate
        assert gate is not None

        protocol_class = PROTOCOLS[self.settings.http]

        def protocol() -> TolerantHttpToolsProtocol | TolerantH11Protocol:
            return protocol_class(
                config=self.config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                connections=connections,
            )

        while True:
            try:
                client, _ = await loop.sock_accept(sock)
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    connections.log.accept_failed.add()
                    await asyncio.sleep(_ACCEPT_RETRY_SECONDS)
                continue  # else the client left before it was accepted
            try:
                await gate.admit()  # it waits here while all connections are taken
            except BaseException:  # cancelled: the server stops
                client.close()
                raise
            try:
                await loop.connect_accepted_socket(protocol, client)
            except OSError:  # the client is gone before its connection started
                client.close()
                gate.release(None)

    async def on_tick(self, counter: int) -> bool:
        if counter % 10 == 0:
            self.connection_log.flush()
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for task in self._accepting:
            task.cancel()
        await asyncio.gather(*self._accepting, return_exceptions=True)
        await super().shutdown(sockets=sockets)
        self.connection_log.flush()


def serve_app(
    app: ASGIApp,
    settings: Settings,
    sockets: list[socket.socket],
    on_started: Callable[[], None] | None = None,
) -> None:
    """Serve `app` on `sockets` (bound; listening or not) until SIGINT or SIGTERM; `on_started`
    is called once connections are being accepted."""
    file_limit = raise_file_limit()
    cap = connection_cap(settings.max_connections, file_limit)
    if cap < settings.max_connections:
        log.warning(
            "--max-connections %d lowered to %d: the open-file limit is %d",
            settings.max_connections,
            cap,
            file_limit,
        )
    server = CappedServer(uvicorn_config(app, settings), settings, cap, on_started)
    server.connection_log.install()
    try:
        server.run(sockets=sockets)
    finally:
        server.connection_log.uninstall()
