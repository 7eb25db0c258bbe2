"""Helpers of the live callback tests: a receiver that stamps arrivals, completed orders, waiting.

`StampedReceiver` is a real HTTP server like `tests.receiver.Receiver`, but it records when each
request arrived (monotonic and wall time) and how many requests it was answering at once at the
most, so a test can tell when a push came and whether two workers were sending at the same time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.factories import MERCHANT, make_order
from tests.receiver import serving

AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)
OM = "/ordermanagement/v1/orders"


@dataclass(frozen=True)
class Arrival:
    path: str  # without the query
    query: dict[str, str]
    body: bytes
    monotonic: float
    wall: float

    @property
    def order_id(self) -> str:
        return self.query["order"]


class StampedReceiver:
    """Answers every POST with `status` after `delay` seconds, and records it with its time.

    `peak_in_flight` is the most requests received and not yet answered at one moment.
    """

    def __init__(self, delay: float = 0.0, status: int = 200) -> None:
        self.delay = delay
        self.status = status
        self.arrivals: list[Arrival] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                now, wall = time.monotonic(), time.time()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with receiver._lock:
                    receiver.arrivals.append(Arrival(parts.path, query, body, now, wall))
                    receiver.in_flight += 1
                    receiver.peak_in_flight = max(receiver.peak_in_flight, receiver.in_flight)
                if receiver.delay:
                    time.sleep(receiver.delay)
                # Counted down before the answer goes out: a sender that waits for each answer
                # is never counted twice.
                with receiver._lock:
                    receiver.in_flight -= 1
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def calls(self, path: str) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if a.path == path]

    def per_order(self, path: str = "/push") -> Counter[str]:
        return Counter(a.order_id for a in self.calls(path))

    @contextmanager
    def running(self) -> Iterator[StampedReceiver]:
        with serving(self._server):
            yield self


def merchant_urls(receiver_url: str) -> dict[str, str]:
    """The default order's URLs, with push and notification going to the receiver."""
    urls: dict[str, str] = make_order()["merchant_urls"]
    return urls | {
        "push": receiver_url + "/push?order={checkout.order.id}",
        "notification": receiver_url + "/notify?order={checkout.order.id}",
    }


def complete_order(client: httpx.Client, receiver_url: str, email: str = "c@example.com") -> str:
    """Create an order whose callbacks go to the receiver and complete it; its id.

    `client` has the live server as its base URL and the merchant's Basic auth.
    """
    created = client.post(
        "/checkout/v3/orders", json=make_order(merchant_urls=merchant_urls(receiver_url))
    )
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={"email": email})
    assert done.status_code == 200, done.text
    return order_id


def advance(client: httpx.Client, seconds: float) -> dict[str, Any]:
    response = client.post("/_sandbox/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def clean_env() -> dict[str, str]:
    """This environment without `KCO_SANDBOX_*` settings, as `LiveServer` starts the server."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KCO_SANDBOX_")}


def cli(*args: str, cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """`kco-sandbox ARGS...` as a user would run it; its exit status and output."""
    return subprocess.run(
        [sys.executable, "-m", "kco_sandbox", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=timeout,
        check=False,
    )


def start_worker(database_url: str, log: Path, *extra: str) -> subprocess.Popen[str]:
    """`kco-sandbox worker --database-url URL` as its own process, output to `log`."""
    args = [sys.executable, "-m", "kco_sandbox", "worker", "--database-url", database_url]
    with log.open("w") as out:
        return subprocess.Popen(
            [*args, *extra],
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean_env(),
        )
