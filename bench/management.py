"""Order Management in the bench: completed orders to work on, the checked calls, the two runs.

- **read OM order**: `GET /ordermanagement/v1/orders/{id}` of one completed order (no captures).
- **capture**: `POST /ordermanagement/v1/orders/{id}/captures` with `{"captured_amount":1}`,
  round robin over a pool of completed orders (`--capture-orders`, one wrk path a line), so that
  each order takes only a few captures during a run, as in the runs before captures became rows
  of their own (migration 0010; a capture's cost no longer grows with the order's captures, see
  `capture_growth.py`). Each order's amount, 2,144.00 SEK, lasts 214,400 captures of 0.01 SEK;
  the only answer is 201.

Orders are completed with the sandbox's own `POST /_sandbox/orders/{id}/complete`, with the bench
merchant's credentials, as a shopper would complete them on the hosted page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.client import call, create_one, expect, made_orders
from bench.config import OM_ORDERS, BenchError, Settings, log
from bench.load import Load, Measurement, measure

CAPTURE_BODY = b'{"captured_amount":1}'


def complete_one(port: int, order_id: str) -> None:
    reply = call(port, "POST", f"/_sandbox/orders/{order_id}/complete", b"{}")
    expect(reply, 200, "complete order")
    if reply.json().get("status") != "checkout_complete":
        raise BenchError(f"complete order: not completed: {reply.body[:300]!r}")


def completed_order(port: int, body: bytes) -> str:
    """Create an order and complete it: an AUTHORIZED Order Management order; its id."""
    order_id = create_one(port, body)
    complete_one(port, order_id)
    return order_id


def completed_orders(port: int, body: bytes, count: int) -> list[str]:
    """`count` completed orders, made over one keep-alive connection (faster than one each)."""
    return made_orders(port, body, count, complete=True)


def read_om(port: int, order_id: str) -> dict[str, Any]:
    """The Order Management order, checked: the same id, and AUTHORIZED or PART_CAPTURED."""
    reply = call(port, "GET", f"{OM_ORDERS}/{order_id}")
    expect(reply, 200, "read OM order")
    order: dict[str, Any] = reply.json()
    if order.get("order_id") != order_id or order.get("status") not in (
        "AUTHORIZED",
        "PART_CAPTURED",
    ):
        raise BenchError(f"read OM order: unexpected answer: {reply.body[:300]!r}")
    return order


def read_om_one(port: int, order_id: str) -> None:
    read_om(port, order_id)


def capture_one(port: int, order_id: str) -> None:
    reply = call(port, "POST", f"{OM_ORDERS}/{order_id}/captures", CAPTURE_BODY)
    if reply.status != 201:
        raise BenchError(f"capture: expected HTTP 201, got {reply.status}: {reply.body[:500]!r}")
    capture_id = reply.headers.get("capture-id", "")
    if not capture_id or not reply.headers.get("location", "").endswith(capture_id):
        raise BenchError(f"capture: no Capture-Id/Location in the answer: {reply.headers}")


def capture_load(
    wrk: str, port: int, body: bytes, orders: int, connections: int, folder: Path
) -> tuple[Load, list[str]]:
    """The capture load, round robin over `orders` new completed orders; and those orders."""
    log(f"capture: completing {orders} orders to capture from")
    pool = completed_orders(port, body, orders)
    paths_file = folder / "capture-paths.txt"
    paths_file.write_text("".join(f"{OM_ORDERS}/{i}/captures\n" for i in pool))
    body_file = folder / "capture.json"
    body_file.write_bytes(CAPTURE_BODY)
    first = f"{OM_ORDERS}/{pool[0]}/captures"
    load = Load(wrk, port, "POST", first, body_file, connections, paths_file=paths_file)
    return load, pool


def measure_management(
    settings: Settings, wrk: str, port: int, server_pid: int, folder: Path, body: bytes
) -> tuple[list[Measurement], dict[str, object]]:
    """The read OM order and capture runs on a running kco-sandbox; their facts for the report."""
    n = settings.connections
    order_id = completed_order(port, body)
    read_om_one(port, order_id)
    read = Load(wrk, port, "GET", f"{OM_ORDERS}/{order_id}", None, n, server_pid)
    results = [
        measure(
            "read OM order",
            read,
            settings.seconds,
            settings.warmup,
            lambda: read_om_one(port, order_id),
        )
    ]

    capture, pool = capture_load(wrk, port, body, settings.capture_orders, n, folder)
    capture.server_pid = server_pid
    checks = 0

    def check() -> None:
        nonlocal checks
        capture_one(port, pool[checks % len(pool)])
        checks += 1

    measured = measure("capture", capture, settings.seconds, settings.warmup, check)
    results.append(measured)
    # The first order of the pool took a capture in every warm-up and run that got to it.
    captured = read_om(port, pool[0])
    if captured["status"] != "PART_CAPTURED" or captured["captured_amount"] != len(
        captured["captures"]
    ):
        raise BenchError(f"capture: the first order's captures do not add up: {captured}")
    facts: dict[str, object] = {
        "capture_body": CAPTURE_BODY.decode(),
        "capture_orders": len(pool),
        "captures_per_order_in_run": round(measured.requests / len(pool), 1),
        "captures_on_first_order": len(captured["captures"]),
    }
    return results, facts
