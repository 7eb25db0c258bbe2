"""What the server's HTTP/1.1 protocols share: one client habit tolerated, and bounds in time at
the connection level (`BoundedProtocol`, mixed into both protocol classes).

Two protocol classes run the connections, both writing header names exactly as the application
spells them, which strict clients need (see `wire.py`):
- `httptools_protocol.TolerantHttpToolsProtocol`, the default: uvicorn's httptools protocol
  (llhttp, a C parser), whose own writer lower-cases header names, with a writer that keeps them;
- `h11_protocol.TolerantH11Protocol` (`--http h11`): uvicorn's pure-Python h11 protocol, slower,
  for where httptools cannot be installed.

The habit: a stray `{}` or `[]` after a bodiless GET, dropped by `StrayBodyFilter`
(`stray_bodies.py`, which says why and how).

The bounds (docs/operations.md, "Limits"), none of which logs a line per connection:
- idle: a connection with no request under way closes after `idle_timeout`, whether it has
  answered one already or never sent a byte (uvicorn times out only the first kind);
- slow requests: from a request's first byte, its head and body must all be in within
  `request_timeout`, else `408` (or just a close, when the answer has already begun);
- large heads: a request head over `MAX_HEAD_BYTES` gets `431` (the httptools protocol; h11
  refuses one over its own limit of the same size as malformed);
- slow readers: a client that leaves the answer unread for `request_timeout` is cut off;
- lingering close: an answer that starts before the request's body is all in (a 413 judged by
  `Content-Length`, a 401 or 404 before the body is read) says `Connection: close`; closing
  then shuts our side, and reads and drops what the client still sends, for at most
  `linger_seconds` or until it is quiet for `linger_quiet`. Closing at once would leave unread
  data, the kernel would answer it with a reset, and the client would lose the answer;
- how many connections are open at once is the `ConnectionGate`'s (`connections.py`).

Requests the parser refuses get a `400` in the vendor's error body (`errors.protocol_answer`),
counted in the connection log rather than logged one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.utils import formatdate
from enum import Enum, auto
from typing import Any, Final

from starlette.requests import ClientDisconnect
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable
from uvicorn._types import Scope as AsgiScope

from kco_sandbox.web.connections import Connections, GuardedTransport
from kco_sandbox.web.errors import (
    HEAD_TOO_LARGE_CODE,
    MALFORMED_REQUEST_CODE,
    protocol_answer,
    request_timeout_answer,
)
from kco_sandbox.web.stray_bodies import StrayBodyFilter

__all__ = ["MAX_HEAD_BYTES", "BoundedProtocol", "Incoming", "StrayBodyFilter"]

# The largest request head accepted: h11's default limit, which uvicorn uses.
MAX_HEAD_BYTES: Final = 16 * 1024


class Incoming(Enum):
    """Where the client is in sending a request."""

    NOTHING = auto()  # between requests (or none yet)
    HEAD = auto()  # a request's first byte is in, its head is not complete
    BODY = auto()  # its head is in, its body is not all in
    BROKEN = auto()  # the parser refused what came


class BoundedProtocol(asyncio.Protocol):
    """The bounds of the module docstring, mixed in before a uvicorn protocol class.

    The class it is mixed into says where the client is (`incoming`) and which cycle a request
    being received belongs to (`receiving_cycle`); it calls `_start_bounds` from its
    `__init__`, `_after_feed` after each parse and `_after_answer` after each answer.
    """

    loop: asyncio.AbstractEventLoop
    timeout_keep_alive: int
    timeout_keep_alive_task: asyncio.TimerHandle | None
    timeout_keep_alive_handler: Callable[[], None]

    def _start_bounds(self, connections: Connections | None) -> None:
        self.shared = connections if connections is not None else Connections()
        self.gate = self.shared.gate
        # uvicorn declares it whole seconds; its timer takes any number of seconds.
        self.timeout_keep_alive = self.shared.idle_timeout  # type: ignore[assignment]
        self._real: asyncio.Transport | None = None
        self._guard: GuardedTransport | None = None
        self._strays = StrayBodyFilter()
        self._request_timer: asyncio.TimerHandle | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._linger_until = 0.0
        self._last_read = 0.0
        self._lost = False

    # What the protocol class says

    def incoming(self) -> Incoming:
        raise NotImplementedError

    def receiving_cycle(self) -> Any:
        """The cycle of the request whose body is coming in (None while a head is)."""
        raise NotImplementedError

    # The connection's life

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not `asyncio.Transport` subclasses, but have its methods.
        real: asyncio.Transport = transport  # type: ignore[assignment]
        self._real = real
        self._guard = GuardedTransport(real, self._close)
        super().connection_made(self._guard)
        # uvicorn arms this only after a first answer: a connection that never sends a byte
        # would stay open for ever.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )
        if self.gate is not None:
            self.gate.idle(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        for timer in (self._request_timer, self._stall_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)
        if self.gate is not None:
            self.gate.release(self)

    def evict(self) -> None:
        """Close this idle connection now, to make room for a new one (`ConnectionGate`)."""
        self.timeout_keep_alive_handler()

    # Reading

    def _filtered(self, data: bytes) -> bytes | None:
        """What of `data` goes to the parser (None: nothing, the connection is closing)."""
        assert self._guard is not None
        if self._guard.closing:  # lingering: read and dropped
            self._last_read = self.loop.time()
            return None
        data = self._strays.feed(data)
        if not data:  # empty data would tell a parser that the peer closed the connection
            return None
        if self.gate is not None:
            self.gate.busy(self)
        return data

    def _after_feed(self) -> None:
        """A request begun and not all in has the timeout from its first byte; one that
        arrives whole, the usual case, needs no timer."""
        if self.incoming() in (Incoming.HEAD, Incoming.BODY):
            if self._request_timer is None:
                self._start_request_timer()
        elif self._request_timer is not None:
            self._request_timer.cancel()  # all in (or refused as malformed)
            self._request_timer = None

    def _after_answer(self) -> None:
        if self._guard is None or self._guard.closing:
            return
        incoming = self.incoming()
        if incoming in (Incoming.HEAD, Incoming.BODY):  # a pipelined request
            if self._request_timer is None:
                self._start_request_timer()
        elif incoming is Incoming.NOTHING and self._request_timer is None and self.gate:
            self.gate.idle(self)

    def _start_request_timer(self) -> None:
        self._request_timer = self.loop.call_later(
            self.shared.request_timeout, self._request_timed_out
        )

    def _request_timed_out(self) -> None:
        """The request was not all in within the timeout: 408, unless an answer has begun
        (then the connection just closes)."""
        assert self._guard is not None
        assert self._real is not None
        if self._guard.closing:
            return
        self.shared.log.timed_out.add()
        cycle = self.receiving_cycle() if self.incoming() is Incoming.BODY else None
        if cycle is not None and not cycle.response_complete:
            # The app waits for the body: it is told the client left, and its answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        if cycle is None or not cycle.response_started:
            self._real.write(request_timeout_answer(self.shared.new_id(), self._date()))
        self._guard.close()

    def _refuse(self, status: int, *, count: bool = True) -> None:
        """Answer a request the parser refused (400) or whose head is too large (431), and
        close; counted, not logged."""
        assert self._guard is not None
        assert self._real is not None
        if count:
            self.shared.log.refused.add()
        if self._guard.closing:
            return
        code, message = (
            (HEAD_TOO_LARGE_CODE, "Request header fields too large")
            if status == 431
            else (MALFORMED_REQUEST_CODE, "Malformed HTTP request")
        )
        self._real.write(protocol_answer(status, code, message, self.shared.new_id(), self._date()))
        self._guard.close()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request its parser refused, in the vendor's body (its warning,
        just before, was counted by the connection log)."""
        self._refuse(400, count=False)

    def _date(self) -> str:
        return formatdate(self.shared.wall_clock(), usegmt=True)

    # Writing

    def _quiet_disconnects(self, app: ASGI3Application) -> ASGI3Application:
        """`app`, silent when the client left (or was cut off by the request timeout) mid-body:
        nothing to answer and no bug to log (uvicorn would log a traceback per connection)."""

        async def quiet(
            scope: AsgiScope, receive: ASGIReceiveCallable, send: ASGISendCallable
        ) -> None:
            try:
                await app(scope, receive, send)
            except ClientDisconnect:
                if not self._lost and (self._guard is None or not self._guard.closing):
                    raise

        return quiet

    def pause_writing(self) -> None:
        """The client reads the answer more slowly than it is written: it has the request
        timeout to catch up, then the connection is aborted."""
        super().pause_writing()
        if self._stall_timer is None:
            self._stall_timer = self.loop.call_later(self.shared.request_timeout, self._stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    def _stalled(self) -> None:
        assert self._real is not None
        self._stall_timer = None
        self.shared.log.stalled.add()
        self._real.abort()

    # Closing

    def _close(self) -> None:
        """`transport.close()`: at once when the client has nothing more to send, else the
        lingering close of the module docstring."""
        assert self._guard is not None
        assert self._real is not None
        if self._guard.closing:
            if self._lost:
                self._real.close()
            return
        linger = not self._lost and self.incoming() is not Incoming.NOTHING
        self._guard.closing = True
        if self.gate is not None:
            self.gate.busy(self)
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None
        if not linger:
            self._real.close()
            return
        # What is written goes out, then our FIN; `eof_received` ends it when the client closes.
        if self._real.can_write_eof():
            self._real.write_eof()
        self._real.resume_reading()
        now = self.loop.time()
        self._last_read = now
        self._linger_until = now + self.shared.linger_seconds
        self._linger_timer = self.loop.call_later(self.shared.linger_quiet, self._linger_check)

    def _linger_check(self) -> None:
        assert self._real is not None
        now = self.loop.time()
        quiet_until = self._last_read + self.shared.linger_quiet
        if now >= self._linger_until or now >= quiet_until:
            self._linger_timer = None
            self._real.close()
            return
        self._linger_timer = self.loop.call_at(
            min(self._linger_until, quiet_until), self._linger_check
        )
