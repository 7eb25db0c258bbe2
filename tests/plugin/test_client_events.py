"""The typed client reads an order's whole timeline, however many pages it takes."""

from __future__ import annotations

from kco_sandbox.client import KcoClient


def test_events_follows_every_page(kco: KcoClient) -> None:
    order_id = kco.create_order()["order_id"]
    for _ in range(1001):  # with the create, 1002 calls: more than the largest page
        kco.read_order(order_id)

    events = kco.events(order_id)

    assert len(events) == 1002
    assert [e["method"] for e in events[:2]] == ["POST", "GET"]
    assert len({e["correlation_id"] for e in events}) == 1002
