"""A `Klarna-Idempotency-Key` is scoped to one operation on one order (and capture).

The same key on another operation or another order is a new key: it must do its own work, not
answer what the first operation made. A repeat of the same operation on the same path replays.
Runs on SQLite and PostgreSQL (the `client` and `store` fixtures).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

import tests.store.test_idempotency as stored
from kco_sandbox.domain.order_management.idempotency import Replay
from kco_sandbox.domain.order_management.lifecycle import OmAction
from kco_sandbox.domain.order_management.order import Capture
from kco_sandbox.store import Store
from kco_sandbox.store.engine import engine_for
from kco_sandbox.store.tables import idempotency_keys
from tests.api.test_management_api import OM, completed, om
from tests.factories import MERCHANT

empty_url = stored.empty_url  # the fixture: an empty database on each engine


def key(value: str) -> dict[str, str]:
    return {"Klarna-Idempotency-Key": value}


def capture(
    client: TestClient, order_id: str, amount: int, headers: dict[str, str] | None = None
) -> Any:
    return client.post(
        f"{OM}/{order_id}/captures", json={"captured_amount": amount}, headers=headers
    )


def refund(
    client: TestClient, order_id: str, amount: int, headers: dict[str, str] | None = None
) -> Any:
    return client.post(
        f"{OM}/{order_id}/refunds", json={"refunded_amount": amount}, headers=headers
    )


def test_a_capture_key_on_a_refund_refunds(client: TestClient) -> None:
    order_id = completed(client)
    captured = capture(client, order_id, 20_000, headers=key("k"))
    assert captured.status_code == 201, captured.text
    refunded = refund(client, order_id, 5_000, headers=key("k"))
    assert refunded.status_code == 201, refunded.text
    assert "capture-id" not in refunded.headers
    [made] = om(client, order_id)["refunds"]
    assert refunded.headers["refund-id"] == made["refund_id"]
    assert refunded.headers["location"].endswith(f"/{order_id}/refunds/{made['refund_id']}")
    assert om(client, order_id)["refunded_amount"] == 5_000


def test_a_key_used_on_one_order_cancels_another(client: TestClient) -> None:
    first, second = completed(client), completed(client)
    assert capture(client, first, 20_000, headers=key("k")).status_code == 201
    cancelled = client.post(f"{OM}/{second}/cancel", headers=key("k"))
    assert (cancelled.status_code, cancelled.content) == (204, b"")
    assert "location" not in cancelled.headers
    assert om(client, second)["status"] == "CANCELLED"
    assert om(client, first)["captured_amount"] == 20_000


def test_a_repeat_of_the_same_operation_replays(client: TestClient) -> None:
    order_id = completed(client)
    first = capture(client, order_id, 20_000, headers=key("k"))
    again = capture(client, order_id, 1, headers=key("k"))
    assert again.status_code == 201, again.text
    assert again.headers["capture-id"] == first.headers["capture-id"]
    assert again.headers["location"] == first.headers["location"]
    assert om(client, order_id)["captured_amount"] == 20_000
    # ... and a repeat of the cross-operation call replays that call, not the capture
    refunded = refund(client, order_id, 1_000, headers=key("k"))
    assert (
        refund(client, order_id, 2_000, headers=key("k")).headers["refund-id"]
        == (refunded.headers["refund-id"])
    )
    assert om(client, order_id)["refunded_amount"] == 1_000


def test_a_capture_level_key_is_scoped_to_its_capture(client: TestClient, store: Store) -> None:
    order_id = completed(client)
    one = capture(client, order_id, 10_000).headers["capture-id"]
    two = capture(client, order_id, 10_000).headers["capture-id"]
    for capture_id in (one, two, one):
        sent = client.post(
            f"{OM}/{order_id}/captures/{capture_id}/trigger-send-out", headers=key("s")
        )
        assert sent.status_code == 204, sent.text
    with store.engine.connect() as conn:
        scopes = conn.execute(
            select(idempotency_keys.c.scope).where(idempotency_keys.c.idempotency_key == "s")
        ).scalars()
        assert sorted(scopes) == sorted(
            f"trigger_send_out {order_id} {capture_id}" for capture_id in (one, two)
        )


def test_racing_repeats_of_one_operation_apply_it_once(store: Store) -> None:
    order_id, management = stored.opened(store), stored.service(store)
    threads, start = 8, threading.Barrier(8)
    answers: list[Capture | Replay] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            answers.append(management.capture(MERCHANT, order_id, stored.whole(), "raced"))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    [made] = management.get_order(MERCHANT, order_id).captures
    assert [a for a in answers if isinstance(a, Capture)] == [made]
    assert [a for a in answers if isinstance(a, Replay)] == [
        Replay(OmAction.CAPTURE, order_id, made.capture_id)
    ] * (threads - 1)


def test_0006_scopes_a_key_stored_at_0005(empty_url: str) -> None:
    engine = engine_for(empty_url)
    try:
        stored._migrate(engine, "0005")
        stored._insert(
            engine,
            "idempotency_keys",
            merchant_id=MERCHANT.merchant_id,
            idempotency_key="old",
            operation="capture",
            order_id="order-1",
            created_id="capture-1",
            created_at=datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None),
        )
        stored._migrate(engine, "head")
        with engine.connect() as conn:
            rows = conn.execute(
                select(idempotency_keys.c.idempotency_key, idempotency_keys.c.scope)
            ).all()
        assert [tuple(row) for row in rows] == [("old", "capture order-1")]
        store = Store.for_url(empty_url)
        try:
            assert store.is_current()
            orders = store.orders
            same = orders.get_or_replay(
                "order-1", MERCHANT.merchant_id, "old", ("capture order-1",)
            )
            assert same == Replay(OmAction.CAPTURE, "order-1", "capture-1")
            other = orders.get_or_replay(
                "order-1", MERCHANT.merchant_id, "old", ("cancel order-1",)
            )
            assert other is None  # no such order: the key did not answer
        finally:
            store.close()
        stored._migrate(engine, "0005", down=True)
        stored._migrate(engine, "head")
    finally:
        engine.dispose()
