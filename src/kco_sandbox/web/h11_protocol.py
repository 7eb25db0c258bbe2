"""`TolerantH11Protocol` (`--http h11`): uvicorn's pure-Python h11 protocol with the stray-body
filter and the connection bounds of `protocol.py`.

h11 writes header names exactly as the application spells them. It is the fallback for where the
default, httptools (a C extension), cannot be installed; it costs more CPU per request.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent
from uvicorn._types import Scope as AsgiScope
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from kco_sandbox.web.connections import Connections
from kco_sandbox.web.protocol import BoundedProtocol, Incoming

__all__ = ["TolerantH11Protocol"]

_INCOMING = {
    h11.SEND_BODY: Incoming.BODY,
    h11.ERROR: Incoming.BROKEN,
}


class TolerantH11Protocol(BoundedProtocol, H11Protocol):
    """uvicorn's h11 protocol with the stray-body filter and the connection bounds.

    `connections` (shared by every connection of a server) holds the timeouts, the gate and the
    tallies; without it (as uvicorn itself would make the protocol) the defaults apply, uncapped.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        connections: Connections | None = None,
    ) -> None:
        H11Protocol.__init__(self, config, server_state, app_state, _loop)
        self._start_bounds(connections)
        self.app = self._quiet_disconnects(self._closing_early(self.app))

    def incoming(self) -> Incoming:
        state = self.conn.their_state
        if state is h11.IDLE:
            # h11 keeps a partial head in its buffer until the head is complete.
            return Incoming.HEAD if self.conn.trailing_data[0] else Incoming.NOTHING
        return _INCOMING.get(state, Incoming.NOTHING)

    def receiving_cycle(self) -> Any:
        return self.cycle

    def data_received(self, data: bytes) -> None:
        filtered = self._filtered(data)
        if filtered is None:
            return
        super().data_received(filtered)
        self._after_feed()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._after_answer()

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

            await app(scope, receive, send_closing)

        return closing_early
