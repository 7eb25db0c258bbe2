"""A real HTTP server standing in for a merchant's callback endpoints; the test sets its answers.

Each path answers with what the test configured (status, JSON body, headers, a delay); every
request is recorded with its method, path, headers and body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded when not bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                with receiver._lock:
                    receiver.received.append(
                        Received(self.command, self.path, dict(self.headers.items()), body)
                    )
                    reply = receiver.replies.get(path, Reply())
                if reply.delay:
                    time.sleep(reply.delay)
                payload = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else (b"" if reply.body is None else json.dumps(reply.body).encode())
                )
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller gave up waiting

            do_POST = _handle
            do_GET = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def on(self, path: str, reply: Reply) -> None:
        self.replies[path] = reply

    def calls(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path.split("?", 1)[0] == path]

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        with serving(self._server):
            yield self


# How often a serving thread looks whether it is asked to stop: `shutdown()` waits up to this long
# (the standard library's default, 0.5 s, was paid by every test using a receiver).
POLL_INTERVAL = 0.005


@contextmanager
def serving(server: BaseServer) -> Iterator[None]:
    """Serve `server` on a thread of its own; on leaving, stop it at once and close its socket.

    Requests still being answered (daemon threads) are not waited for, as before.
    """
    thread = threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
