"""The tolerant HTTP/1.1 protocol: a stray `{}` after an unframed GET goes, a framed body never.

The protocol class runs in-process here, on a transport that records what is written, with an
app that echoes each request's method, path and body; every test feeds `data_received` the way
TCP may deliver the bytes: in two segments split at every index.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from kco_sandbox.web.h11_protocol import TolerantH11Protocol
from kco_sandbox.web.httptools_protocol import TolerantHttpToolsProtocol
from kco_sandbox.web.stray_bodies import StrayBodyFilter

POST = b"POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
GET = b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n"
UNFRAMED_GET = b"GET /first HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n"


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = scope["method"].encode() + b" " + scope["path"].encode() + b" " + body
    length = str(len(answer)).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]}
    )
    await send({"type": "http.response.body", "body": answer})


class Recorder(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def answers(written: bytes) -> list[bytes]:
    """The bodies of the responses in `written`, in order."""
    bodies = []
    for match in re.finditer(rb"HTTP/1\.1 200 OK\r\n(.*?)\r\n\r\n", written, re.DOTALL):
        length = int(re.search(rb"content-length: (\d+)", match.group(1)).group(1))  # type: ignore[union-attr]
        bodies.append(written[match.end() : match.end() + length])
    return bodies


Protocol = type[TolerantH11Protocol] | type[TolerantHttpToolsProtocol]


@pytest.fixture(params=[TolerantHttpToolsProtocol, TolerantH11Protocol], ids=["httptools", "h11"])
def protocol_class(request: pytest.FixtureRequest) -> Protocol:
    cls: Protocol = request.param
    return cls


async def serve(protocol_class: Protocol, *segments: bytes) -> list[bytes]:
    config = Config(app=echo, lifespan="off", log_config=None, access_log=False)
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = Recorder()
    protocol.connection_made(transport)
    for segment in segments:
        protocol.data_received(segment)
        for _ in range(20):  # let the app answer before the next segment comes
            await asyncio.sleep(0)
    for _ in range(50):
        await asyncio.sleep(0)
    protocol.connection_lost(None)
    return answers(bytes(transport.written))


@pytest.mark.parametrize("at", range(len(POST + GET) + 1))
def test_a_framed_body_is_read_whatever_the_split(protocol_class: Protocol, at: int) -> None:
    raw = POST + GET
    assert asyncio.run(serve(protocol_class, raw[:at], raw[at:])) == [
        b"POST /first {}",
        b"GET /second ",
    ]


@pytest.mark.parametrize("at", range(len(UNFRAMED_GET + b"{}" + GET) + 1))
def test_a_stray_body_after_an_unframed_get_is_dropped_whatever_the_split(
    protocol_class: Protocol, at: int
) -> None:
    raw = UNFRAMED_GET + b"{}" + GET
    assert asyncio.run(serve(protocol_class, raw[:at], raw[at:])) == [
        b"GET /first ",
        b"GET /second ",
    ]


@pytest.mark.parametrize("at", range(len(POST + GET) + 1))
def test_the_filter_never_changes_a_framed_stream(at: int) -> None:
    strays = StrayBodyFilter()
    raw = POST + GET + POST
    assert strays.feed(raw[:at]) + strays.feed(raw[at:]) == raw


@pytest.mark.parametrize("stray", [b"{}", b"[]"])
def test_the_filter_drops_a_stray_body_split_byte_by_byte(stray: bytes) -> None:
    strays = StrayBodyFilter()
    raw = UNFRAMED_GET + stray + GET + stray + POST
    out = b"".join(strays.feed(raw[i : i + 1]) for i in range(len(raw)))
    assert out == UNFRAMED_GET + GET + POST


CHUNKED = (
    b"POST /c HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\n\r\n"
    b"2\r\n{}\r\n1;x=y\r\n]\r\n0\r\n\r\n"
)


@pytest.mark.parametrize("at", range(len(CHUNKED + UNFRAMED_GET + b"{}" + GET) + 1))
def test_a_chunked_body_is_read_and_a_later_stray_dropped_whatever_the_split(
    protocol_class: Protocol, at: int
) -> None:
    raw = CHUNKED + UNFRAMED_GET + b"{}" + GET
    assert asyncio.run(serve(protocol_class, raw[:at], raw[at:])) == [
        b"POST /c {}]",
        b"GET /first ",
        b"GET /second ",
    ]


def test_the_filter_reads_a_chunked_trailer() -> None:
    strays = StrayBodyFilter()
    chunked = b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n"
    out = b"".join(strays.feed(bytes([byte])) for byte in chunked + UNFRAMED_GET + b"[]" + GET)
    assert out == chunked + UNFRAMED_GET + GET


def test_the_filter_stops_following_another_transfer_coding() -> None:
    strays = StrayBodyFilter()
    gzip = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
    assert strays.feed(gzip) + strays.feed(UNFRAMED_GET + b"{}") == gzip + UNFRAMED_GET + b"{}"
