"""Real orders for the fuzz run to aim at: checkout and Order Management orders in each state.

Generated path parameters nearly always name no order (a 404 each time); the run mixes in the
ids made here, so the rules behind the 404 (validation, the lifecycle, amounts) are reached too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kco_sandbox.client import KcoClient


@dataclass
class Pool:
    """Path parameter sets naming real things, each a mapping such as {"order_id": ...}."""

    entries: list[dict[str, str]] = field(default_factory=list)

    def add(self, **ids: str) -> None:
        self.entries.append(ids)


def seed_orders(client: KcoClient) -> Pool:
    """One order in each state a fuzzed call can meet (19 calls).

    The fuzzed calls change these orders (capture, cancel, ...), so a run seeds afresh before
    each operation: every operation meets every state.
    """
    pool = Pool()
    pool.add(order_id=client.create_order()["order_id"])  # checkout_incomplete
    aborted = client.create_order()["order_id"]
    client.abort_order(aborted)
    pool.add(order_id=aborted)

    authorized = client.create_order()["order_id"]
    client.complete(authorized, "fuzz@example.com")
    pool.add(order_id=authorized)

    part = client.create_order()["order_id"]
    client.complete(part, "fuzz@example.com")
    first = client.capture(part, 20000)["capture_id"]
    pool.add(order_id=part, capture_id=first)

    refunded = client.create_order()["order_id"]
    client.complete(refunded, "fuzz@example.com")
    whole = client.capture(refunded, None)["capture_id"]
    refund = client.refund(refunded, 10000)["refund_id"]
    pool.add(order_id=refunded, capture_id=whole, refund_id=refund)

    cancelled = client.create_order()["order_id"]
    client.complete(cancelled, "fuzz@example.com")
    client.cancel(cancelled)
    pool.add(order_id=cancelled)
    return pool
