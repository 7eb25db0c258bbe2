"""What the connections of one server share: their limits, the gate that caps how many are open,
the tallies that stand in for per-connection log lines, and the transport wrapper that lets the
protocol close a connection gracefully (a lingering close).

`ConnectionGate` admits a new connection only while fewer than `max_connections` are open. When
all are taken, the connection that has been idle longest (between keep-alive requests, or never
used) is closed to make room; when none is idle, new connections wait in the listen queue until
one closes. It counts sockets, not requests: an idle flood cannot use up the file table, and a
client whose connection waits is served once there is room (docs/operations.md, "Limits").

`GuardedTransport` hands `close()` to the protocol, which decides between closing at once and
lingering: answering before a request's body has arrived and closing straight away would make
the kernel reset the connection (unread data), and the client would lose the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from kco_sandbox.ids import IdFactory, new_uuid
from kco_sandbox.logs import ConnectionLog

# A lingering close reads and discards what the client still sends for at most this long, and
# stops sooner once the client has been quiet for `LINGER_QUIET` (nginx's lingering_time and
# lingering_timeout, shorter: a sandbox's clients are close by).
LINGER_SECONDS: Final = 2.0
LINGER_QUIET: Final = 0.5


class Evictable(Protocol):
    def evict(self) -> None:
        """Close the connection now (it is idle)."""


class ConnectionGate:
    """At most `limit` open connections; see the module docstring."""

    def __init__(self, limit: int, log: ConnectionLog) -> None:
        self.limit = limit
        self.log = log
        self.open = 0
        # Idle connections, longest idle first (a dict keeps insertion order).
        self._idle: dict[Evictable, None] = {}
        self._evicting: set[Evictable] = set()
        self._room = asyncio.Event()

    async def admit(self) -> None:
        """Wait until there is room for one more connection, then take it."""
        while self.open >= self.limit:
            if not self._evicting and not self._evict_longest_idle():
                self.log.waiting.add()
            self._room.clear()
            await self._room.wait()
        self.open += 1

    def release(self, connection: Evictable | None) -> None:
        """A connection `admit` let in has closed (or never started: None)."""
        self.open -= 1
        if connection is not None:
            self._idle.pop(connection, None)
            self._evicting.discard(connection)
        self._room.set()

    def idle(self, connection: Evictable) -> None:
        """`connection` waits for a request: it may be closed to make room."""
        self._idle.pop(connection, None)
        self._idle[connection] = None

    def busy(self, connection: Evictable) -> None:
        self._idle.pop(connection, None)

    def _evict_longest_idle(self) -> bool:
        if not self._idle:
            return False
        connection = next(iter(self._idle))
        del self._idle[connection]
        self._evicting.add(connection)
        self.log.evicted.add()
        connection.evict()
        return True


@dataclass(slots=True)
class Connections:
    """What every connection of one server shares (defaults: `Settings`' and no cap)."""

    idle_timeout: float = 30.0
    request_timeout: float = 30.0
    linger_seconds: float = LINGER_SECONDS
    linger_quiet: float = LINGER_QUIET
    gate: ConnectionGate | None = None
    log: ConnectionLog = field(default_factory=ConnectionLog)
    new_id: IdFactory = new_uuid
    wall_clock: Callable[[], float] = time.time  # for the `Date` of a 408


class GuardedTransport(asyncio.Transport):
    """The connection's transport as uvicorn's protocol sees it: `close()` goes to `on_close`.

    Once closing, writes are dropped: after a lingering close has shut the sending side, the
    transport would refuse them.
    """

    def __init__(self, real: asyncio.Transport, on_close: Callable[[], None]) -> None:
        super().__init__()
        self.real = real
        self.closing = False
        self._on_close = on_close

    def close(self) -> None:
        self._on_close()

    def is_closing(self) -> bool:
        return self.closing or self.real.is_closing()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closing:
            self.real.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        if not self.closing:
            self.real.writelines(list_of_data)

    def write_eof(self) -> None:
        self.real.write_eof()

    def can_write_eof(self) -> bool:
        return self.real.can_write_eof()

    def abort(self) -> None:
        self.real.abort()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.real.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self.real.pause_reading()

    def resume_reading(self) -> None:
        self.real.resume_reading()

    def is_reading(self) -> bool:
        return self.real.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.real.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.real.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self.real.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.real.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.real.set_write_buffer_limits(high, low)
