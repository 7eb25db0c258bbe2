"""Retention: what can no longer change goes once the window has passed it, with everything
recorded about it; what is younger or still open stays. On both engines, through the real app."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.services.retention import RetentionService
from kco_sandbox.store import Store, tables
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order

ORDERS = "/checkout/v3/orders"
OTHER = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
OM = "/ordermanagement/v1/orders"


def count(store: Store, table: Any, order_id: str | None = None) -> int:
    store.events.flush()
    query = select(func.count()).select_from(table)
    if order_id is not None:
        query = query.where(table.c.order_id == order_id)
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def create(client: TestClient, *, other: bool = False) -> str:
    if other:  # the second merchant sells in Germany
        body = make_order(purchase_country="DE", purchase_currency="EUR", locale="de-DE")
        response = client.post(ORDERS, json=body, auth=OTHER)
    else:
        response = client.post(ORDERS, json=make_order())
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


def bought(client: TestClient) -> tuple[str, int]:
    order_id = create(client)
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={"email": "a@example.com"})
    assert done.status_code == 200, done.text
    amount = int(client.get(f"{OM}/{order_id}").json()["order_amount"])
    return order_id, amount


def capture(client: TestClient, order_id: str, amount: int, key: str) -> None:
    response = client.post(
        f"{OM}/{order_id}/captures",
        json={"captured_amount": amount},
        headers={"Klarna-Idempotency-Key": key},
    )
    assert response.status_code == 201, response.text


def gone(client: TestClient, order_id: str) -> bool:
    checkout = client.get(f"{ORDERS}/{order_id}").status_code
    management = client.get(f"{OM}/{order_id}").status_code
    return checkout == 404 and management == 404


def test_what_the_window_passed_goes_and_the_rest_stays(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    expired = create(client)  # never completed: expires 48 hours on
    captured, amount = bought(client)
    capture(client, captured, amount, "key-captured")
    cancelled, _ = bought(client)
    assert client.post(f"{OM}/{cancelled}/cancel").status_code == 204
    authorized, _ = bought(client)  # open until its authorization expires, 28 days on
    part, part_amount = bought(client)
    capture(client, part, part_amount // 2, "key-part")  # open until the authorization expires
    other = create(client, other=True)
    doomed = (expired, captured, cancelled)
    events = sum(count(store, tables.order_events, order_id) for order_id in doomed)
    callbacks = sum(count(store, tables.callbacks, order_id) for order_id in doomed)
    assert events > 0
    assert callbacks == 2  # the pushes of the two bought ones

    retention = RetentionService(store, 30, lambda _m: clock.now(), batch=2)
    clock.advance(timedelta(days=30))  # 30 days after the capture and the cancel: the edge
    assert retention.prune().total() == 0
    clock.advance(timedelta(days=1))
    removed = retention.prune()
    # Both keys are older than the window: the captured order's, and the open one's on its own.
    assert (removed.orders, removed.om_orders, removed.idempotency_keys) == (2, 2, 2)
    assert client.get(f"{ORDERS}/{expired}").status_code == 404  # expired, not yet pruned
    assert count(store, tables.checkout_orders, expired) == 1
    clock.advance(timedelta(days=2))  # 30 days after the expiry (48 hours after the create)
    fresh = create(client)
    removed.add(retention.prune())

    assert (removed.orders, removed.om_orders) == (4, 2)  # with the second merchant's
    # and the second merchant's create, and the read of the expired order above
    assert removed.events == events + 2
    assert removed.callbacks == 2
    assert all(gone(client, order_id) for order_id in doomed)
    assert all(count(store, tables.order_events, order_id) == 0 for order_id in doomed)
    assert all(count(store, tables.callbacks, order_id) == 0 for order_id in doomed)
    for kept in (authorized, part, fresh):
        assert client.get(f"{ORDERS}/{kept}").status_code == 200
    assert client.get(f"{OM}/{part}").json()["status"] == "PART_CAPTURED"
    assert client.get(f"{ORDERS}/{other}", auth=OTHER).status_code == 404  # expired
    assert count(store, tables.checkout_orders, other) == 0  # judged on its own merchant's clock
    assert retention.prune().total() == 0  # nothing left to do

    # 30 days after the authorizations expired (28 days after purchase), they go too.
    clock.advance(timedelta(days=26))
    removed = retention.prune()
    assert (removed.orders, removed.om_orders, removed.idempotency_keys) == (2, 2, 0)
    assert gone(client, authorized)
    assert gone(client, part)
    assert client.get(f"{ORDERS}/{fresh}").status_code == 404  # expired, but 24 days ago
    assert count(store, tables.checkout_orders, fresh) == 1
    assert count(store, tables.om_orders) == 0


def test_keys_older_than_the_window_go_on_their_own_and_zero_keeps_everything(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    order_id, _ = bought(client)
    for n in range(5):
        capture(client, order_id, 1, f"key-{n}")
    clock.advance(timedelta(days=20))
    capture(client, order_id, 1, "key-young")
    clock.advance(timedelta(days=11))

    assert RetentionService(store, 0, lambda _m: clock.now()).prune().total() == 0
    removed = RetentionService(store, 30, lambda _m: clock.now(), batch=2).prune()

    assert removed.idempotency_keys == 5
    assert removed.orders == 0  # part captured, authorization left: open
    assert count(store, tables.idempotency_keys) == 1
    assert client.get(f"{OM}/{order_id}").status_code == 200


def test_a_round_prunes_at_most_once_a_minute_and_in_bounded_batches(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    for _ in range(7):
        create(client)
    clock.advance(timedelta(days=40))
    wall = [1000.0]
    retention = RetentionService(
        store, 30, lambda _m: clock.now(), batch=2, max_batches=2, wall=lambda: wall[0]
    )

    first = retention.prune_if_due()
    assert first is not None
    assert first.orders == 4  # two batches of two
    assert retention.prune_if_due() is None  # the same minute
    wall[0] += 59
    assert retention.prune_if_due() is None
    wall[0] += 1
    second = retention.prune_if_due()
    assert second is not None
    assert second.orders == 3
    assert count(store, tables.checkout_orders) == 0


def test_a_merchants_own_clock_decides_for_its_orders(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    mine = create(client)
    theirs = create(client, other=True)
    clock.advance(timedelta(days=3))
    ahead = {MERCHANT.merchant_id: timedelta(days=40)}

    removed = RetentionService(
        store, 30, lambda m: clock.now() + ahead.get(m, timedelta(0))
    ).prune()

    assert removed.orders == 1
    assert count(store, tables.checkout_orders, mine) == 0
    assert count(store, tables.checkout_orders, theirs) == 1
