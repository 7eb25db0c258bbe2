"""The bench's own HTTP requests: one call to a server, and the checked create and read.

Before each warm-up and each measured run one request checks the answer, so that wrk never
measures a server that answers with errors.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any

from bench.config import AUTHORIZATION, HOST, ORDERS, BenchError


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    port: int, method: str, path: str, body: bytes | None = None, timeout: float = 10.0
) -> Reply:
    headers = {"Authorization": AUTHORIZATION}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        conn.close()


def expect(reply: Reply, status: int, what: str) -> None:
    if reply.status != status:
        raise BenchError(
            f"{what}: expected HTTP {status}, got {reply.status}: {reply.body[:500]!r}"
        )
    if "content-type" not in reply.headers:
        raise BenchError(f"{what}: the answer has no Content-Type header")


def create_one(port: int, body: bytes) -> str:
    """Create an order, check the answer, return its id."""
    reply = call(port, "POST", ORDERS, body)
    expect(reply, 201, "create order")
    order_id = reply.json().get("order_id")
    if not isinstance(order_id, str) or not reply.headers.get("location", "").endswith(order_id):
        raise BenchError(f"create order: no order_id/Location in the answer: {reply.body[:300]!r}")
    return order_id


def check_create(port: int, body: bytes) -> None:
    create_one(port, body)


def read_one(port: int, order_id: str) -> None:
    reply = call(port, "GET", f"{ORDERS}/{order_id}")
    expect(reply, 200, "read order")
    if reply.json().get("order_id") != order_id:
        raise BenchError(f"read order: another order came back: {reply.body[:300]!r}")
