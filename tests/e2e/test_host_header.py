"""Nothing a request says decides where the platform sends credentials, against a live server.

The attack: without `--public-url`, a request names a host of the attacker's in `Host`, hoping the
demo shop sends its merchant's Basic credentials there. A real HTTP receiver stands in for the
attacker's host and must receive nothing. Then: which `Host` values are served at all, and what
`Location` and the snippet say for them.
"""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_demo import go_to_checkout
from tests.factories import MERCHANT, make_order
from tests.live import LiveServer
from tests.receiver import Receiver

AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)
ORDERS = "/checkout/v3/orders"


def exchange(server: LiveServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """`raw` on a fresh connection to `server`: the status, headers (lower-case names), body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {n.strip().lower(): v.strip() for n, _, v in (x.partition(":") for x in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def get(path: str, *hosts: str, version: str = "1.1") -> bytes:
    lines = [f"GET {path} HTTP/{version}", *(f"Host: {h}" for h in hosts), "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def create(server: LiveServer, host: str | None) -> httpx.Response:
    headers = {"Host": host} if host else {}
    return httpx.post(
        server.url + ORDERS, json=make_order(), auth=AUTH, headers=headers, timeout=20
    )


@pytest.fixture
def attacker(receiver: Receiver) -> Receiver:
    """The host an attacker names; it must never be called."""
    return receiver


def attackers_host(attacker: Receiver) -> str:
    return attacker.url.removeprefix("http://")


def serve(tmp_path: Path, *args: str) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path, merchants=[MERCHANT], extra_args=list(args))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """`serve` without `--public-url`."""
    yield from serve(tmp_path)


def test_the_demo_shop_never_calls_the_host_a_request_names(
    server: LiveServer, attacker: Receiver
) -> None:
    # `127.0.0.1:<the attacker's port>` is an allowed name (loopback, any port): the request is
    # served, and the shop still calls the platform where it listens.
    named = attackers_host(attacker)
    for host in (named, named.replace("127.0.0.1", "localhost")):
        status, _, body = exchange(server, get("/demo/checkout?order_id=x", host))
        assert attacker.received == []
        assert status == 404, body  # the platform answered the shop: no such order
        assert b"could not be read" in body
        with httpx.Client(base_url=server.url, headers={"Host": host}, timeout=20) as browser:
            started = go_to_checkout(browser)
            assert started.status_code == 303, started.text
            # Browser-facing URLs may use the (checked) Host the browser used.
            assert started.headers["location"].startswith(f"http://{host}/demo/checkout?")
            order_id = started.headers["location"].rsplit("=", 1)[1]
            assert browser.get(f"/demo/orders/{order_id}").status_code == 200
    assert attacker.received == []
    # The orders were made on the platform, for the shop's merchant.
    read = httpx.get(f"{server.url}{ORDERS}/{order_id}", auth=AUTH, timeout=20)
    assert read.status_code == 200, read.text


def test_a_host_not_allowed_is_a_400_before_anything_runs(
    server: LiveServer, attacker: Receiver
) -> None:
    for path in ("/demo/checkout?order_id=x", "/demo", ORDERS + "/x", "/_sandbox/health"):
        status, headers, body = exchange(server, get(path, "attacker:1234"))
        assert status == 400, body
        assert headers["content-type"] == "application/json"
        answer = json.loads(body)
        assert answer["error_code"] == "BAD_VALUE"
        assert answer["error_messages"][0] == "Bad value: Host"
        assert answer["correlation_id"] == headers["klarna-correlation-id"]
    # Two Host headers are refused too, even when one is allowed.
    status, _, _ = exchange(server, get("/demo", "127.0.0.1", "attacker:1234"))
    assert status == 400
    refused = create(server, "attacker:1234")
    assert refused.status_code == 400
    assert attacker.received == []


def test_location_and_snippet_use_an_allowed_host(server: LiveServer) -> None:
    created = create(server, f"localhost:{server.port}")
    assert created.status_code == 201, created.text
    base = f"http://localhost:{server.port}"
    order_id = created.json()["order_id"]
    assert created.headers["location"] == f"{base}{ORDERS}/{order_id}"
    assert f'"{base}/kco/checkout/{order_id}"' in created.json()["html_snippet"]


def test_http_1_0_without_host_gets_the_listen_address(server: LiveServer) -> None:
    body = json.dumps(make_order()).encode()
    credentials = "Basic " + base64.b64encode(":".join(AUTH).encode()).decode()
    raw = (
        f"POST {ORDERS} HTTP/1.0\r\nAuthorization: {credentials}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    status, headers, answer = exchange(server, raw)
    assert status == 201, answer
    assert headers["location"].startswith(f"http://127.0.0.1:{server.port}{ORDERS}/")


def test_allowed_host_makes_a_host_allowed(tmp_path: Path, attacker: Receiver) -> None:
    for live in serve(tmp_path, "--allowed-host", "shop.example"):
        created = create(live, "shop.example:8080")
        assert created.status_code == 201, created.text
        assert created.headers["location"].startswith(f"http://shop.example:8080{ORDERS}/")
        assert '"http://shop.example:8080/kco/checkout/' in created.json()["html_snippet"]
        with httpx.Client(base_url=live.url, headers={"Host": "shop.example"}) as browser:
            started = go_to_checkout(browser)
            assert started.status_code == 303, started.text
            assert started.headers["location"].startswith("http://shop.example/demo/checkout?")
        assert create(live, "attacker:1234").status_code == 400
    assert attacker.received == []


def test_with_a_public_url_host_decides_nothing(tmp_path: Path, attacker: Receiver) -> None:
    for live in serve(tmp_path, "--public-url", "https://kco.example/"):
        created = create(live, attackers_host(attacker))
        assert created.status_code == 201, created.text
        assert created.headers["location"].startswith(f"https://kco.example{ORDERS}/")
        assert '"https://kco.example/kco/checkout/' in created.json()["html_snippet"]
        with httpx.Client(base_url=live.url, headers={"Host": "attacker:1234"}) as browser:
            started = go_to_checkout(browser)
            assert started.status_code == 303, started.text
            assert started.headers["location"].startswith("https://kco.example/demo/checkout?")
    assert attacker.received == []


class AnyPortServer(LiveServer):
    """`serve --port 0`: the port is learnt from what the server prints."""

    def answers(self) -> bool:
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.output())
        if found is None:
            return False
        self.port = int(found.group(1))
        return super().answers()


def test_the_demo_shop_works_on_a_port_the_system_picked(tmp_path: Path) -> None:
    server = AnyPortServer(tmp_path, merchants=[MERCHANT], extra_args=["--port", "0"])
    server.start()
    try:
        assert f"open {server.url}/demo" in server.output()
        with httpx.Client(base_url=server.url, timeout=20) as browser:
            started = go_to_checkout(browser)
            assert started.status_code == 303, started.text
            checkout = browser.get(started.headers["location"])
            assert checkout.status_code == 200
            assert f'"{server.url}/kco/checkout/' in checkout.text
    finally:
        server.stop()


@pytest.mark.parametrize(
    "args",
    [["--no-sandbox-api"], ["--profile", "shared", "--public-url", "https://kco.example"]],
)
def test_the_demo_shop_is_absent_and_not_announced(tmp_path: Path, args: list[str]) -> None:
    for live in serve(tmp_path, *args):
        answer: Any = httpx.get(live.url + "/demo", timeout=20)
        assert answer.status_code == 404
        assert answer.json()["error_code"] == "NOT_FOUND"
        assert "/demo" not in live.output()
