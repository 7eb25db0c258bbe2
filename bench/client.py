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


def made_orders(port: int, body: bytes, count: int, *, complete: bool) -> list[str]:
    """`count` new orders (each completed too, with `complete`: an AUTHORIZED Order Management
    order), made over one keep-alive connection (faster than one each)."""
    headers = {"Authorization": AUTHORIZATION, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(HOST, port, timeout=30.0)
    ids: list[str] = []
    try:
        for _ in range(count):
            conn.request("POST", ORDERS, body=body, headers=headers)
            created = conn.getresponse()
            data = created.read()
            if created.status != 201:
                raise BenchError(f"create order: HTTP {created.status}: {data[:300]!r}")
            order_id = json.loads(data)["order_id"]
            if complete:
                conn.request("POST", f"/_sandbox/orders/{order_id}/complete", b"{}", headers)
                done = conn.getresponse()
                data = done.read()
                if done.status != 200:
                    raise BenchError(f"complete order: HTTP {done.status}: {data[:300]!r}")
            ids.append(order_id)
    finally:
        conn.close()
    return ids
