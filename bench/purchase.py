"""The headless purchase in the bench: `POST /_sandbox/orders/{id}/complete`, each order once.

A purchase completes a checkout order: it runs the purchase as the hosted page would (no
callbacks are configured on the bench's orders but the push, which goes to the outbox), opens the
Order Management order and answers the completed checkout order. An order can be completed only
once, so every request needs an order of its own: the bench creates a pool of orders before the
run, over one keep-alive connection, and wrk sends each request to the next of them
(`bench/checkout.lua`, round robin over a file of paths). The warm-up and the run get separate
parts of the pool, and the pool is sized for `--purchase-rate` purchases a second; a run that used
up its part would complete orders twice, and those answers (409) count as non-2xx.
"""

from __future__ import annotations

from pathlib import Path

from bench.client import call, expect, made_orders
from bench.config import BenchError, Settings, log
from bench.load import Load, Measurement, measure, run_wrk

WARMUP_SECONDS = 1
# The purchase run is shorter than the others: each second of it needs thousands of new orders.
MAX_RUN_SECONDS = 5


def new_orders(port: int, body: bytes, count: int) -> list[str]:
    """`count` new checkout orders, made over one keep-alive connection."""
    return made_orders(port, body, count, complete=False)


def complete_path(order_id: str) -> str:
    return f"/_sandbox/orders/{order_id}/complete"


def purchase_one(port: int, order_id: str) -> None:
    reply = call(port, "POST", complete_path(order_id), b"{}")
    expect(reply, 200, "purchase")
    if reply.json().get("status") != "checkout_complete":
        raise BenchError(f"purchase: not completed: {reply.body[:300]!r}")


def measure_purchase(
    settings: Settings, wrk: str, port: int, server_pid: int, folder: Path, body: bytes
) -> tuple[Measurement, dict[str, object]]:
    """The purchase run on a running kco-sandbox; its facts for the report."""
    seconds = min(settings.seconds, MAX_RUN_SECONDS)
    warm_count = settings.purchase_rate * WARMUP_SECONDS
    run_count = settings.purchase_rate * seconds
    log(f"purchase: creating {warm_count + run_count + 2} orders to buy")
    pool = new_orders(port, body, warm_count + run_count + 2)
    checks, warm, run = pool[:2], pool[2 : 2 + warm_count], pool[2 + warm_count :]
    body_file = folder / "purchase.json"
    body_file.write_bytes(b"{}")

    def load(name: str, ids: list[str]) -> Load:
        paths = folder / f"purchase-{name}.txt"
        paths.write_text("".join(complete_path(i) + "\n" for i in ids))
        first = complete_path(ids[0])
        return Load(wrk, port, "POST", first, body_file, settings.connections, server_pid, paths)

    log(f"purchase: warm-up {WARMUP_SECONDS}s")
    run_wrk(load("warm-up", warm), WARMUP_SECONDS)
    turn = iter(checks)
    measured = measure(
        "purchase", load("run", run), seconds, 0, lambda: purchase_one(port, next(turn))
    )
    if measured.requests > len(run):
        log(f"purchase: the run sent {measured.requests} requests for {len(run)} orders")
    facts: dict[str, object] = {
        "purchase_seconds": seconds,
        "purchase_orders": len(run),
        "purchase_body": "{}",
    }
    return measured, facts
