"""No input or load at the connection level takes the server down: raw sockets on a live server.

Each test reproduces a finding of a security review: idle connections never timed out (a flood of
them used up the file table and wrote a log line per refused accept), a slow client held its
connection for ever, and a client that writes its whole oversize body before reading got a reset
instead of the 413. The server runs with second-long timeouts so that the tests are quick.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import MERCHANT
from tests.live import LiveServer

AUTH = base64.b64encode(f"{MERCHANT.merchant_id}:{MERCHANT.api_key}".encode()).decode()
TIMEOUTS = ["--idle-timeout", "1", "--request-timeout", "1"]
GET = b"GET /kco/checkout.bootstrap.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
BIG = 3 * 1024 * 1024


@pytest.fixture
def server(tmp_path: Path, http_parser: str) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path, merchants=[MERCHANT], extra_args=[*TIMEOUTS, "--http", http_parser])
    live.start()
    yield live
    live.stop()


def connect(server: LiveServer, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_answer(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    """One answer: its status line, its headers as written, its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {n: v.strip() for n, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("Content-Length", "0")):
        body += sock.recv(65536)
    return lines[0], headers, body


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes `sock` (reading and dropping what it sends)."""
    started = time.monotonic()
    read_all(sock)
    return time.monotonic() - started


def open_descriptors(server: LiveServer) -> int:
    assert server.process is not None
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


# 1. Idle connections close after --idle-timeout


def test_a_connection_that_never_sends_closes_after_the_idle_timeout(server: LiveServer) -> None:
    with connect(server) as sock:
        assert 0.8 < closed_after(sock) < 3.0


def test_a_kept_alive_connection_closes_after_the_idle_timeout(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(GET)
        status, _, _ = read_answer(sock)
        assert status == "HTTP/1.1 200 OK"
        assert 0.8 < closed_after(sock) < 3.0


# 2. Slow clients get a 408 after --request-timeout from their request's first byte


def test_a_client_trickling_its_headers_gets_a_408(server: LiveServer) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /kco/checkout.bootstrap.js HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(0.2)
        answer = b""
        for n in range(40):  # a header line every 0.2 s: 8 s, were it never cut off
            try:
                sock.sendall(b"X-Slow-%d: x\r\n" % n)
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # reset while still sending: the answer may already be here
                break
            if answer and answer.endswith(b"}"):
                break
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert 0.8 < elapsed < 3.0
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nConnection: close\r\n" in head
    assert b"\r\nContent-Type: application/json\r\n" in head
    error = json.loads(body)
    assert error["error_code"] == "REQUEST_TIMEOUT"
    assert error["correlation_id"] in head.decode()


def test_a_client_that_stops_sending_its_body_gets_a_408(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /checkout/v3/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Basic {AUTH}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"purchase_country":'
        )
        started = time.monotonic()
        status, headers, body = read_answer(sock)
        assert status == "HTTP/1.1 408 Request Timeout"
        assert headers["Connection"] == "close"
        assert json.loads(body)["error_code"] == "REQUEST_TIMEOUT"
        assert 0.8 < time.monotonic() - started < 3.0
        assert read_all(sock) == b""


def test_a_request_timeout_does_not_cut_a_kept_alive_connection_short(server: LiveServer) -> None:
    """The timer runs from a request's first byte, not from the connection's start."""
    with connect(server) as sock:
        for _ in range(3):
            time.sleep(0.6)  # 1.8 s in all: past --request-timeout, each pause under the idle
            sock.sendall(GET)
            status, _, _ = read_answer(sock)
            assert status == "HTTP/1.1 200 OK"


# 3. At most --max-connections open; the excess waits, the longest-idle make room


def test_idle_connections_past_the_cap_do_not_keep_a_new_client_out(tmp_path: Path) -> None:
    server = LiveServer(
        tmp_path,
        merchants=[MERCHANT],
        # Long enough that none of the idle connections times out during the test.
        extra_args=["--max-connections", "20", "--idle-timeout", "30", "--request-timeout", "30"],
    )
    server.start()
    idle: list[socket.socket] = []
    try:
        baseline = open_descriptors(server)
        idle = [connect(server) for _ in range(200)]
        started = time.monotonic()
        with connect(server) as sock:
            sock.sendall(GET)
            status, _, _ = read_answer(sock)
        assert status == "HTTP/1.1 200 OK"
        assert time.monotonic() - started < 5.0
        # The cap holds: at most 20 connections (and one waiting in the accept loop) open.
        assert open_descriptors(server) <= baseline + 21
        assert len(server.output().splitlines()) < 20, server.output()
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_past_the_cap_with_none_idle_a_new_client_waits_its_turn(tmp_path: Path) -> None:
    server = LiveServer(
        tmp_path, merchants=[MERCHANT], extra_args=["--max-connections", "5", *TIMEOUTS]
    )
    server.start()
    busy: list[socket.socket] = []
    try:
        for _ in range(5):  # five requests begun and never finished: none of them is idle
            sock = connect(server)
            sock.sendall(b"GET / HTTP/1.1\r\n")
            busy.append(sock)
        time.sleep(0.2)
        started = time.monotonic()
        with connect(server) as sock:
            sock.sendall(GET)
            status, _, _ = read_answer(sock)
        waited = time.monotonic() - started
        assert status == "HTTP/1.1 200 OK"
        assert 0.5 < waited < 3.0  # served once the busy ones timed out, not before
        for sock in busy:
            assert read_answer(sock)[0] == "HTTP/1.1 408 Request Timeout"
    finally:
        for sock in busy:
            sock.close()
        server.stop()


# 4. A flood writes a bounded number of log lines


def test_a_flood_of_bad_and_slow_connections_writes_few_log_lines(server: LiveServer) -> None:
    for _ in range(300):
        with connect(server) as sock:
            sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")  # a TLS hello, say
            read_all(sock)
    slow = [connect(server) for _ in range(50)]
    try:
        for sock in slow:
            sock.sendall(b"GET / HTTP/1.1\r\n")
        for sock in slow:
            assert read_answer(sock)[0] == "HTTP/1.1 408 Request Timeout"
    finally:
        for sock in slow:
            sock.close()
    output = server.output()
    assert len(output.splitlines()) < 20, output
    assert output.count("malformed or upgrade requests refused") == 1, output  # counted
    assert "Invalid HTTP request received" not in output


PATHS_WITH_BODIES = [
    "/checkout/v3/orders",
    "/_sandbox/orders/x/complete",
    "/demo/checkout",
    "/kco/checkout/x/identify",
]


def test_bodies_cut_short_or_abandoned_log_no_tracebacks(server: LiveServer) -> None:
    """A client that stops sending its body (timed out) or leaves mid-body is no bug."""
    for path in PATHS_WITH_BODIES * 5:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {AUTH}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
        )
        with connect(server) as sock:  # leaves after half its body
            sock.sendall(head.encode() + b"a" * 50)
            time.sleep(0.05)
    stalled = [connect(server) for _ in PATHS_WITH_BODIES]
    try:
        for sock, path in zip(stalled, PATHS_WITH_BODIES, strict=True):
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {AUTH}\r\n"
                "Content-Length: 100\r\n\r\nab".encode()
            )
        for sock in stalled:
            assert read_answer(sock)[0].startswith("HTTP/1.1 4")  # 408, or the page's 404
    finally:
        for sock in stalled:
            sock.close()
    time.sleep(0.5)
    output = server.output()
    assert "Traceback" not in output, output
    assert "ERROR" not in output, output


# 5. A body refused before it is read: the client still reads the answer


def oversize_post(path: str, *headers: str) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Basic {AUTH}"]
    head += [*headers, f"Content-Length: {BIG}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + b"x" * BIG


def write_all_then_read(server: LiveServer, raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """A client that writes its whole request before it reads (a small send buffer, so the
    server must read the body for the write to finish)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    sock.settimeout(10)
    with sock:
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(raw)
        return read_answer(sock)


@pytest.mark.parametrize("connection", [(), ("Connection: close",)])
def test_an_oversize_body_written_whole_gets_the_413(
    server: LiveServer, connection: tuple[str, ...]
) -> None:
    status, headers, body = write_all_then_read(
        server, oversize_post("/checkout/v3/orders", *connection)
    )
    assert status == "HTTP/1.1 413 Request Entity Too Large"
    assert headers["Connection"] == "close"
    assert json.loads(body)["error_code"] == "PAYLOAD_TOO_LARGE"


def test_a_body_refused_unread_for_another_reason_still_gets_its_answer(
    server: LiveServer,
) -> None:
    status, headers, _ = write_all_then_read(
        server, oversize_post("/no/such/path", "Connection: close")
    )
    assert status == "HTTP/1.1 404 Not Found"
    assert headers["Connection"] == "close"


def test_a_small_body_read_whole_keeps_the_connection(server: LiveServer) -> None:
    """`Connection: close` only when the answer starts before the body is all in."""
    with connect(server) as sock:
        for _ in range(2):
            sock.sendall(
                b"POST /checkout/v3/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Length: 2\r\n\r\n{}"
            )
            status, headers, _ = read_answer(sock)
            assert status == "HTTP/1.1 401 Unauthorized"
            assert "Connection" not in headers
