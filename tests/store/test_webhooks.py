"""Webhook destinations and the fan-out of events into the outbox, on SQLite and PostgreSQL.

An event is queued inside the write that causes it: one `webhook` callback per destination
listening to its type, none for the others, and none at all when the write rolls back.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import msgspec
import pytest

from kco_sandbox.clock import FrozenClock, MerchantClocks
from kco_sandbox.domain.delivery import CallbackKind
from kco_sandbox.domain.order_management import rules
from kco_sandbox.domain.order_management.order import CaptureRequest, RefundRequest
from kco_sandbox.domain.webhook import ALL_EVENTS, TEST_EVENT, Destination, Event
from kco_sandbox.domain.webhook_disputes import Dispute, DisputeStatus
from kco_sandbox.ids import new_uuid
from kco_sandbox.services.order_management import OrderManagementService
from kco_sandbox.store import Store
from kco_sandbox.store.tables import callbacks
from kco_sandbox.store.webhooks import MAX_TEST_EVENTS
from tests.factories import MERCHANT, OTHER_MERCHANT
from tests.store.test_idempotency import AMOUNT, START, an_order, opened

SECRET = "whsec_a3VzdG9tLWVtdWxhdG9yLXRlc3Qta2V5LTMyYnl0ZSE="


def destination(
    merchant_id: str = MERCHANT.merchant_id, *events: str, at: datetime = START
) -> Destination:
    destination_id = new_uuid()
    return Destination(
        destination_id=destination_id,
        merchant_id=merchant_id,
        name="Shop",
        url=f"https://shop.example/hooks/{destination_id}",
        events=events or (ALL_EVENTS,),
        secret=SECRET,
        created_at=at,
    )


def webhook_rows(store: Store) -> list[dict[str, object]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            callbacks.select()
            .where(callbacks.c.kind == CallbackKind.WEBHOOK.value)
            .order_by(callbacks.c.created_at, callbacks.c.callback_id)
        ).all()
    return [dict(row._mapping) for row in rows]


@pytest.fixture
def merchants(store: Store) -> Store:
    store.merchants.put(MERCHANT, START)
    store.merchants.put(OTHER_MERCHANT, START)
    return store


def test_destinations_are_kept_per_merchant_oldest_first(merchants: Store) -> None:
    store = merchants
    first = destination()
    second = destination(MERCHANT.merchant_id, "order.created", at=START + timedelta(seconds=1))
    other = destination(OTHER_MERCHANT.merchant_id)
    for d in (first, second, other):
        assert store.webhooks.add(d, limit=20)
    listed = store.webhooks.of_merchant(MERCHANT.merchant_id)
    assert [d.destination_id for d in listed] == [first.destination_id, second.destination_id]
    assert store.webhooks.get(second.destination_id) == second
    assert store.webhooks.get("no-such") is None
    assert store.webhooks.get("bad\x00id") is None
    # Another merchant cannot delete it; its own merchant can, once.
    assert not store.webhooks.delete(OTHER_MERCHANT.merchant_id, first.destination_id)
    assert store.webhooks.delete(MERCHANT.merchant_id, first.destination_id)
    assert not store.webhooks.delete(MERCHANT.merchant_id, first.destination_id)
    assert [d.destination_id for d in store.webhooks.of_merchant(MERCHANT.merchant_id)] == [
        second.destination_id
    ]


def test_a_merchant_at_the_limit_gets_no_more(merchants: Store) -> None:
    store = merchants
    assert store.webhooks.add(destination(), limit=2)
    assert store.webhooks.add(destination(), limit=2)
    assert not store.webhooks.add(destination(), limit=2)
    assert len(store.webhooks.of_merchant(MERCHANT.merchant_id)) == 2
    assert store.webhooks.add(destination(OTHER_MERCHANT.merchant_id), limit=2)


def test_a_rotation_writes_only_over_the_secret_it_read(merchants: Store) -> None:
    store = merchants
    d = destination()
    store.webhooks.add(d, limit=20)
    rotated = d.rotated("whsec_bmV3", START, timedelta(seconds=600))
    assert store.webhooks.save_secrets(rotated, expected_secret=SECRET)
    assert store.webhooks.get(d.destination_id) == rotated
    # A second rotation that read the old secret lost the race.
    assert not store.webhooks.save_secrets(d.rotated("whsec_b3RoZXI=", START, timedelta(0)), SECRET)


def test_an_order_opened_queues_order_created_for_listening_destinations(
    merchants: Store,
) -> None:
    store = merchants
    everything = destination()
    orders_only = destination(MERCHANT.merchant_id, "order.created")
    refunds_only = destination(MERCHANT.merchant_id, "refund.created")
    other_merchant = destination(OTHER_MERCHANT.merchant_id)
    for d in (everything, orders_only, refunds_only, other_merchant):
        store.webhooks.add(d, limit=20)
    order_id = opened(store)
    rows = webhook_rows(store)
    assert {r["target"] for r in rows} == {everything.destination_id, orders_only.destination_id}
    bodies = [msgspec.json.decode(str(r["body"])) for r in rows]
    # One event, the same id for every destination.
    assert len({b["id"] for b in bodies}) == 1
    for row, body in zip(rows, bodies, strict=True):
        assert row["order_id"] == order_id
        assert row["status"] == "pending"
        assert row["url"] in {everything.url, orders_only.url}
        assert body["type"] == "order.created"
        assert body["merchant_id"] == MERCHANT.merchant_id
        assert body["data"] == {"order_id": order_id}
        assert body["timestamp"] == "2026-01-01T12:00:00.000000000Z"


def test_captures_and_refunds_queue_their_events(merchants: Store) -> None:
    store = merchants
    listening = destination(MERCHANT.merchant_id, "capture.created", "refund.created")
    store.webhooks.add(listening, limit=20)
    order_id = opened(store)
    management = OrderManagementService(store.orders, MerchantClocks(FrozenClock(START)), new_uuid)
    capture = management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=AMOUNT))
    refund = management.refund(MERCHANT, order_id, RefundRequest(refunded_amount=100))
    rows = webhook_rows(store)
    events = sorted((msgspec.json.decode(str(r["body"])) for r in rows), key=lambda e: e["type"])
    assert [(e["type"], e["data"]) for e in events] == [
        ("capture.created", {"order_id": order_id, "capture_id": capture.capture_id}),
        ("refund.created", {"order_id": order_id, "refund_id": refund.refund_id}),
    ]
    assert len({e["id"] for e in events}) == 2


def test_an_order_opened_with_a_capture_is_two_events(merchants: Store) -> None:
    store = merchants
    store.webhooks.add(destination(), limit=20)
    order, made = rules.capture(an_order(), CaptureRequest(captured_amount=AMOUNT), "c-1", START)
    with store.db.write() as conn:
        store.orders.open_on(conn, msgspec.structs.replace(order, opening_capture=made))
    types = [json.loads(str(r["body"]))["type"] for r in webhook_rows(store)]
    assert sorted(types) == ["capture.created", "order.created"]


def test_nothing_is_queued_for_a_write_that_rolls_back(merchants: Store) -> None:
    store = merchants
    store.webhooks.add(destination(), limit=20)

    class Boom(Exception):
        pass

    def open_then_fail() -> None:
        with store.db.write() as conn:
            store.orders.open_on(conn, an_order())
            raise Boom

    with pytest.raises(Boom):
        open_then_fail()
    assert webhook_rows(store) == []


def test_disputes_queue_created_and_updated(merchants: Store) -> None:
    store = merchants
    store.webhooks.add(destination(MERCHANT.merchant_id, "dispute.created", "dispute.updated"), 20)
    order_id = opened(store)
    dispute = Dispute(
        "dp-1", order_id, MERCHANT.merchant_id, DisputeStatus.NEEDS_RESPONSE, START, START
    )
    assert store.disputes.open(dispute, limit=1)
    second = Dispute("dp-2", order_id, MERCHANT.merchant_id, DisputeStatus.WON, START, START)
    assert not store.disputes.open(second, limit=1)
    later = START + timedelta(days=1)
    changed = store.disputes.change(dispute, DisputeStatus.UNDER_REVIEW, later)
    assert changed is not None
    assert changed.status is DisputeStatus.UNDER_REVIEW
    assert store.disputes.get(order_id, "dp-1") == changed
    # A change judged on the old status lost; the same status again changes nothing.
    assert store.disputes.change(dispute, DisputeStatus.WON, later) is None
    assert store.disputes.change(changed, DisputeStatus.UNDER_REVIEW, later) == changed
    events = [json.loads(str(r["body"])) for r in webhook_rows(store)]
    assert [e["type"] for e in events] == ["dispute.created", "dispute.updated"]
    assert events[1]["data"] == {"order_id": order_id, "dispute_id": "dp-1"}
    assert store.disputes.of_order(order_id) == [changed]


def test_test_events_are_bounded_per_destination_and_go_with_it(merchants: Store) -> None:
    store = merchants
    mine = destination()
    assert store.webhooks.add(mine, limit=20)
    sent = []
    for n in range(MAX_TEST_EVENTS + 3):
        at = START + timedelta(seconds=n)
        event = Event(f"kevt_{n}", MERCHANT.merchant_id, at, TEST_EVENT, {})
        sent.append(store.webhooks.send_test(mine, event))
    kept = [row["callback_id"] for row in webhook_rows(store)]
    assert kept == sent[3:]  # the newest, the oldest three dropped
    assert store.webhooks.delete(MERCHANT.merchant_id, mine.destination_id)
    assert webhook_rows(store) == []
