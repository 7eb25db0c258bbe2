"""The HTTP/1.1 protocol the server runs: uvicorn's h11 protocol, tolerant of one client habit and
bounded in time at the connection level.

Why h11: it writes header names exactly as the application spells them, which strict clients need
(see `wire.py`); uvicorn's httptools protocol lower-cases them.

The habit: a stray `{}` or `[]` after a bodiless GET, dropped by `StrayBodyFilter`
(`stray_bodies.py`, which says why and how).

The bounds (docs/operations.md, "Limits"), none of which logs a line per connection:
- idle: a connection with no request under way closes after `idle_timeout`, whether it has
  answered one already or never sent a byte (uvicorn times out only the first kind);
- slow requests: from a request's first byte, its head and body must all be in within
  `request_timeout`, else `408` (or just a close, when the answer has already begun);
- slow readers: a client that leaves the answer unread for `request_timeout` is cut off;
- lingering close: an answer that starts before the request's body is all in (a 413 judged by
  `Content-Length`, a 401 or 404 before the body is read) says `Connection: close`; closing
  then shuts our side, and reads and drops what the client still sends, for at most
  `linger_seconds` or until it is quiet for `linger_quiet`. Closing at once would leave unread
  data, the kernel would answer it with a reset, and the client would lose the answer;
- how many connections are open at once is the `ConnectionGate`'s (`connections.py`).
"""

from __future__ import annotations

import asyncio
from email.utils import formatdate
from typing import Any

import h11
from starlette.requests import ClientDisconnect
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent
from uvicorn._types import Scope as AsgiScope
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from kco_sandbox.web.connections import Connections, GuardedTransport
from kco_sandbox.web.errors import request_timeout_answer
from kco_sandbox.web.stray_bodies import StrayBodyFilter

__all__ = ["StrayBodyFilter", "TolerantH11Protocol"]

# The client's states while a request is coming in: its head (after a first byte), its body.
_RECEIVING = (h11.IDLE, h11.SEND_BODY)


class TolerantH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the stray-body filter and the connection bounds.

    `connections` (shared by every connection of a server) holds the timeouts, the gate and the
    tallies; without it (as uvicorn itself would make the protocol) the defaults apply, uncapped.
    """

    _strays: StrayBodyFilter | None = None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        connections: Connections | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.shared = connections if connections is not None else Connections()
        self.gate = self.shared.gate
        # uvicorn declares it whole seconds; its timer takes any number of seconds.
        self.timeout_keep_alive = self.shared.idle_timeout  # type: ignore[assignment]
        self.app = self._closing_early(self.app)
        self._real: asyncio.Transport | None = None
        self._guard: GuardedTransport | None = None
        self._request_timer: asyncio.TimerHandle | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._linger_until = 0.0
        self._last_read = 0.0
        self._lost = False

    # The connection's life

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._real = transport
        self._guard = GuardedTransport(transport, self._close)
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

    def data_received(self, data: bytes) -> None:
        assert self._guard is not None
        if self._guard.closing:  # lingering: read and dropped
            self._last_read = self.loop.time()
            return
        if self._strays is None:
            self._strays = StrayBodyFilter()
        data = self._strays.feed(data)
        if not data:  # empty data would tell h11 that the peer closed the connection
            return
        if self.gate is not None:
            self.gate.busy(self)
        starting = self.conn.their_state is h11.IDLE
        super().data_received(data)
        if self.conn.their_state in _RECEIVING:
            # A request begun in this data (its first byte arrived now) and not all in: it has
            # the timeout from here. One that arrives whole, the usual case, needs no timer.
            if self._request_timer is None and (starting or self.conn.their_state is h11.SEND_BODY):
                self._start_request_timer()
        elif self._request_timer is not None:
            self._request_timer.cancel()  # all in (or refused as malformed)
            self._request_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._guard is None or self._guard.closing:
            return
        state = self.conn.their_state
        if state is h11.SEND_BODY and self._request_timer is None:  # a pipelined request
            self._start_request_timer()
        elif state is h11.IDLE and self._request_timer is None and self.gate is not None:
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
        cycle = self.cycle if self.conn.their_state is not h11.IDLE else None
        if cycle is not None and not cycle.response_complete:
            # The app waits for the body: it is told the client left, and its answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        if cycle is None or not cycle.response_started:
            date = formatdate(self.shared.wall_clock(), usegmt=True)
            self._real.write(request_timeout_answer(self.shared.new_id(), date))
        self._guard.close()

    # Writing

    def _closing_early(self, app: ASGI3Application) -> ASGI3Application:
        """`app`, adding `Connection: close` to an answer that starts before the request's body
        is all in: the rest of the body is then drained by a lingering close, never parsed as
        the next request nor read for as long as the client cares to send."""

        async def closing_early(
            scope: AsgiScope, receive: ASGIReceiveCallable, send: ASGISendCallable
        ) -> None:
            if self.conn.their_state is not h11.SEND_BODY:  # the request is all in already
                await app(scope, receive, send)
                return

            async def send_closing(message: ASGISendEvent) -> None:
                if message["type"] == "http.response.start" and (
                    self.conn.their_state is h11.SEND_BODY
                ):
                    message["headers"] = [*message.get("headers", ()), (b"Connection", b"close")]
                await send(message)

            try:
                await app(scope, receive, send_closing)
            except ClientDisconnect:
                if self.cycle is None or not self.cycle.disconnected:
                    raise
                # The client left, or was cut off by the request timeout, mid-body: nothing to
                # answer and no bug to log (uvicorn would log a traceback per connection).

        return closing_early

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
        linger = not self._lost and self._client_still_sending()
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

    def _client_still_sending(self) -> bool:
        state = self.conn.their_state
        if state is h11.IDLE:  # a request whose head is not all in yet, or none at all
            return self._request_timer is not None
        return state is h11.SEND_BODY or state is h11.ERROR

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
