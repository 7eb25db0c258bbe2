"""`TolerantHttpToolsProtocol`, the default: uvicorn's httptools protocol (llhttp, a C parser)
writing header names exactly as the application spells them, with the stray-body filter and the
connection bounds of `protocol.py`.

uvicorn's own httptools writer lower-cases every header name, which strict clients refuse (see
`wire.py`); `CaseKeepingCycle` writes the answer's head itself and leaves the body, flow control
and completion to uvicorn. Parsing stays uvicorn's, with three changes: a head is bounded
(`MAX_HEAD_BYTES`, else 431), refused requests are answered in the vendor's body, and an answer
that starts before its request's body is all in says `Connection: close` (see `protocol.py`).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

import httptools
from uvicorn._types import ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from kco_sandbox.web.connections import Connections
from kco_sandbox.web.protocol import MAX_HEAD_BYTES, BoundedProtocol, Incoming

__all__ = ["CaseKeepingCycle", "TolerantHttpToolsProtocol"]


class _HeadTooLarge(Exception):
    """A request head passed `MAX_HEAD_BYTES` (raised inside a parser callback)."""


class CaseKeepingCycle(RequestResponseCycle):
    """uvicorn's request-response cycle, writing the answer's head with names as given."""

    async def send(self, message: ASGISendEvent) -> None:
        if self.response_started or message["type"] != "http.response.start":
            await super().send(message)
            return
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        self.response_started = True
        self.waiting_for_100_continue = False
        status = message["status"]
        headers = list(message.get("headers", ()))
        if self.more_body:
            # The answer starts before the request's body is all in: the connection closes
            # after it, and the rest of the body is drained by a lingering close.
            headers.append((b"Connection", b"close"))
        content = [STATUS_LINE[status]]
        closing = False
        for name, value in headers:
            if HEADER_RE.search(name):
                raise RuntimeError("Invalid HTTP header name.")
            if HEADER_VALUE_RE.search(value):
                raise RuntimeError("Invalid HTTP header value.")
            lower = name.lower()
            if lower == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value.decode())
                self.chunked_encoding = False
            elif lower == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif lower == b"connection" and b"close" in [
                token.lower().strip() for token in value.split(b",")
            ]:
                self.keep_alive = False
                closing = True
            content.extend((name, b": ", value, b"\r\n"))
        if not self.keep_alive and not closing:
            content.append(b"Connection: close\r\n")
        if (
            self.chunked_encoding is None
            and self.scope["method"] != "HEAD"
            and status not in (204, 304)
        ):
            self.chunked_encoding = True
            content.append(b"Transfer-Encoding: chunked\r\n")
        content.append(b"\r\n")
        self.transport.write(b"".join(content))


class TolerantHttpToolsProtocol(BoundedProtocol, HttpToolsProtocol):
    """uvicorn's httptools protocol with exact header names and the connection bounds.

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
        HttpToolsProtocol.__init__(self, config, server_state, app_state, _loop)
        self._start_bounds(connections)
        self.app = self._quiet_disconnects(self.app)
        self._incoming = Incoming.NOTHING
        self._head_bytes = 0
        self._counted = False
        self._upgraded = False

    def incoming(self) -> Incoming:
        return self._incoming

    def receiving_cycle(self) -> Any:
        return self.cycle

    # Reading

    def data_received(self, data: bytes) -> None:
        filtered = self._filtered(data)
        if filtered is None or self._upgraded:
            return
        self._unset_keepalive_if_required()
        in_head = self._incoming is Incoming.HEAD
        self._counted = False
        try:
            self.parser.feed_data(filtered)
        except httptools.HttpParserUpgrade:
            # No protocol is switched to: the request is answered, and the connection closes
            # after it (what follows the head is the other protocol's, unparsed).
            self._upgraded = True
            self.shared.log.refused.add()
            if self.cycle is not None:
                self.cycle.keep_alive = False
        except httptools.HttpParserError as error:
            self._incoming = Incoming.BROKEN
            self._refuse(431 if isinstance(error.__context__, _HeadTooLarge) else 400)
            return
        if self._incoming is Incoming.HEAD and in_head and not self._counted:
            # All of it fell inside one field, which the parser holds until it ends (and counts
            # again then: such a head is refused at between half and all of the limit).
            self._head_bytes += len(filtered)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._incoming = Incoming.BROKEN
                self._refuse(431)
                return
        self._after_feed()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._incoming = Incoming.HEAD
        self._head_bytes = 0

    # The head's size, as its parts end (`data_received` counts a field still under way).

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._head_bytes += size
        self._counted = True
        if self._head_bytes > MAX_HEAD_BYTES:
            raise _HeadTooLarge()  # the parser stops, and raises a callback error

    def on_headers_complete(self) -> None:
        """uvicorn's, with `CaseKeepingCycle` (no WebSockets, no root path, no concurrency
        limit: the server is configured without them)."""
        self._incoming = Incoming.BODY
        version = self.parser.get_http_version()
        self.scope["method"] = self.parser.get_method().decode("ascii")
        if version != "1.1":
            self.scope["http_version"] = version
        url = httptools.parse_url(self.url)
        raw_path = url.path
        path = raw_path.decode("ascii")
        self.scope["path"] = urllib.parse.unquote(path) if "%" in path else path
        self.scope["raw_path"] = raw_path
        self.scope["query_string"] = url.query or b""
        previous = self.cycle
        self.cycle = CaseKeepingCycle(
            scope=self.scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=False,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=self.expect_100_continue,
            keep_alive=version != "1.0" and self.parser.should_keep_alive(),
            on_response=self.on_response_complete,
        )
        if previous is None or previous.response_complete:
            self._start_asgi_task(self.cycle, self.app)
        else:  # pipelined: answered in turn
            self.flow.pause_reading()
            self.pipeline.appendleft((self.cycle, self.app))

    def on_body(self, body: bytes) -> None:
        if self.cycle.response_complete:
            return
        self.cycle.body += body
        if len(self.cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        self.cycle.message_event.set()

    def on_message_complete(self) -> None:
        self._incoming = Incoming.NOTHING
        if self.cycle.response_complete:
            return
        self.cycle.more_body = False
        self.cycle.message_event.set()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._after_answer()
