"""Header names as the app hands them to the server, before any HTTP client can normalise them.

Strict SDKs look header names up case-sensitively, so every answer, errors included, must leave
the app in canonical spelling. The socket tests (tests/e2e/test_wire_socket.py) prove it on the
wire; this drives the ASGI app directly and reads the raw `http.response.start` message, so a
lower-case name on any answer fails in seconds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.clock import FrozenClock
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from kco_sandbox.web.wire import canonical
from tests.factories import MERCHANT, make_order

AUTH = "Basic " + base64.b64encode(f"{MERCHANT.merchant_id}:{MERCHANT.api_key}".encode()).decode()
Raw = tuple[int, list[tuple[bytes, bytes]], bytes]


def call(app: Starlette, method: str, path: str, body: bytes = b"", auth: bool = True) -> Raw:
    """One request through the ASGI app; the status, the raw header list and the body."""
    headers = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
    if auth:
        headers.append((b"authorization", AUTH.encode()))
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    async def run() -> None:
        await app(scope, receive, send)  # a bug is answered, not raised to the server

    anyio.run(run)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], list(start["headers"]), content


async def _boom(request: Request) -> Response:
    raise RuntimeError("a bug")


@pytest.fixture
def app(
    store: Store, clock: FrozenClock, settings: Settings, merchant_http: MerchantHttp
) -> Starlette:
    for merchant in settings.merchants:
        store.merchants.put(merchant, clock.now())
    built = create_app(settings, store, clock, list(settings.merchants), caller=merchant_http)
    built.router.routes.append(Route("/boom", _boom))  # a bug, to see the last-resort answer
    return built


def assert_canonical(raw: Raw, status: int) -> dict[bytes, bytes]:
    got, headers, body = raw
    assert got == status, body
    names = [name for name, _ in headers]
    assert names == [canonical(name) for name in names], names
    assert b"Klarna-Correlation-Id" in names
    return dict(headers)


def test_every_kind_of_answer_leaves_the_app_with_canonical_names(app: Starlette) -> None:
    created = call(app, "POST", "/checkout/v3/orders", json.dumps(make_order()).encode())
    headers = assert_canonical(created, 201)
    order_id = headers[b"Location"].decode().rsplit("/", 1)[1]
    orders = "/checkout/v3/orders/"
    assert_canonical(call(app, "GET", orders + order_id), 200)
    assert_canonical(call(app, "POST", "/checkout/v3/orders", b"{not json"), 400)
    unauthorized = assert_canonical(call(app, "GET", orders + order_id, auth=False), 401)
    assert b"WWW-Authenticate" in unauthorized
    assert_canonical(call(app, "GET", orders + "no-such-order"), 404)
    assert_canonical(call(app, "DELETE", orders + order_id), 405)
    assert_canonical(call(app, "POST", orders + order_id, b"{" + b" " * 70_000 + b"}"), 413)
    assert_canonical(call(app, "POST", orders + order_id + "/abort"), 200)
    assert_canonical(call(app, "POST", orders + order_id, b'{"locale": "sv-SE"}'), 403)
    assert_canonical(call(app, "GET", "/no/such/path"), 404)
    assert_canonical(call(app, "GET", "/boom"), 500)


def test_capture_and_refund_answers_leave_the_app_with_canonical_names(app: Starlette) -> None:
    created = call(app, "POST", "/checkout/v3/orders", json.dumps(make_order()).encode())
    order_id = dict(created[1])[b"Location"].decode().rsplit("/", 1)[1]
    done = call(app, "POST", f"/_sandbox/orders/{order_id}/complete", b"{}")
    assert done[0] == 200, done[2]
    om = f"/ordermanagement/v1/orders/{order_id}"
    capture = assert_canonical(
        call(app, "POST", om + "/captures", b'{"captured_amount": 100}'), 201
    )
    assert b"Capture-Id" in capture
    assert b"Location" in capture
    refund = assert_canonical(call(app, "POST", om + "/refunds", b'{"refunded_amount": 100}'), 201)
    assert b"Refund-Id" in refund
    assert_canonical(call(app, "POST", om + "/cancel"), 403)
    assert_canonical(call(app, "POST", om + "/acknowledge"), 204)
