"""The event log holds only what a merchant asked for, and is read a page at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.domain.delivery import Attempt, Callback, CallbackKind, CallbackStatus
from kco_sandbox.store import Store
from kco_sandbox.store.tables import order_events
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order

ORDERS = "/checkout/v3/orders"
MADE_UP = "00000000-0000-4000-8000-000000000000"


def rows(store: Store) -> int:
    store.events.flush()
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(order_events)).scalar() or 0)


def create(client: TestClient) -> str:
    response = client.post(ORDERS, json=make_order())
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


def events_url(order_id: str) -> str:
    return f"/_sandbox/orders/{order_id}/events"


def test_calls_without_credentials_or_on_no_order_write_nothing(
    client: TestClient, store: Store
) -> None:
    order_id = create(client)
    before = rows(store)
    for path in (f"{ORDERS}/{MADE_UP}", f"{ORDERS}/{order_id}"):
        assert client.get(path, auth=("nobody", "wrong")).status_code == 401
        assert client.get(path, headers={"Authorization": ""}, auth=None).status_code == 401
    assert client.get(f"{ORDERS}/{MADE_UP}").status_code == 404
    assert client.get(f"/ordermanagement/v1/orders/{MADE_UP}").status_code == 404
    assert client.post(f"/_sandbox/orders/{MADE_UP}/complete", json={}).status_code == 404
    assert rows(store) == before


def test_another_merchants_calls_stay_out_of_the_orders_log(
    client: TestClient, store: Store
) -> None:
    order_id = create(client)
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    before = rows(store)
    assert client.get(f"{ORDERS}/{order_id}", auth=other).status_code == 404
    assert client.post(f"{ORDERS}/{order_id}", json={}, auth=other).status_code == 404
    assert client.get(f"/ordermanagement/v1/orders/{order_id}", auth=other).status_code == 404
    assert rows(store) == before
    calls = client.get(events_url(order_id)).json()["events"]
    assert [(e["method"], e["path"], e["status"]) for e in calls] == [("POST", ORDERS, 201)]


def test_the_merchants_own_calls_are_recorded_failed_ones_too(client: TestClient) -> None:
    order_id = create(client)
    assert client.get(f"{ORDERS}/{order_id}").status_code == 200
    assert client.post(f"{ORDERS}/{order_id}", json={"order_amount": 1}).status_code == 400
    assert client.get(f"/ordermanagement/v1/orders/{order_id}").status_code == 404  # not yet
    calls = client.get(events_url(order_id)).json()["events"]
    assert [(e["method"], e["status"]) for e in calls] == [
        ("POST", 201),
        ("GET", 200),
        ("POST", 400),
        ("GET", 404),
    ]


def seed(store: Store, clock: FrozenClock, order_id: str, count: int) -> None:
    """`count` logged events two at each instant, with a callback attempt at every tenth."""
    callback = Callback(
        callback_id="cb-1",
        order_id=order_id,
        merchant_id=MERCHANT.merchant_id,
        kind=CallbackKind.PUSH,
        url="https://shop.example/push",
        body=b"{}",
        starts_at=clock.now(),
        next_attempt_at=None,
    )
    store.events.flush()  # the order's create first, as on SQLite, where it rode along already
    store.outbox.enqueue(callback, clock.now())
    attempts = []
    with store.db.write() as conn:
        for n in range(count):
            at = clock.now() + timedelta(seconds=n // 2)
            store.events.add_on(conn, order_id, at, "test.event", {"n": n})
            if n % 10 == 0:
                attempts.append(
                    Attempt(started_at=at, status_code=200, duration_ms=1.0, error=None)
                )
    store.outbox.record(callback, attempts, CallbackStatus.DELIVERED, None)


def read_all(client: TestClient, order_id: str, limit: int | None) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    query = f"?limit={limit}" if limit else ""
    body = client.get(events_url(order_id) + query).json()
    pages.append(body["events"])
    while body["next"] is not None:
        assert body["order_id"] == order_id
        body = client.get(
            events_url(order_id), params={"limit": limit or 100, "after": body["next"]}
        ).json()
        pages.append(body["events"])
    return pages


def test_events_are_read_in_pages_in_time_order(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    order_id = create(client)  # its create is the first event
    seed(store, clock, order_id, 250)

    pages = read_all(client, order_id, None)
    assert [len(page) for page in pages] == [100, 100, 76]  # 1 call + 250 events + 25 attempts
    everything = [event for page in pages for event in page]
    assert everything[0]["kind"] == "api.call"
    seeded = [e for e in everything if e["kind"] != "api.call"]
    # By time; at the same instant the log before attempts, each in the order it was written.
    kinds = [(e["kind"], e.get("n")) for e in seeded]
    logged = [n for kind, n in kinds if kind == "test.event"]
    assert logged == list(range(250))
    for i, event in enumerate(seeded[:-1]):
        assert event["at"] <= seeded[i + 1]["at"]
        if event["kind"] == "push.attempt" and event["at"] == seeded[i + 1]["at"]:
            assert seeded[i + 1]["kind"] == "push.attempt"
    assert sum(e["kind"] == "push.attempt" for e in seeded) == 25
    # The same whatever the page size: no event lost or repeated at a page's edge.
    for size in (1, 7, 1000):
        assert [e for page in read_all(client, order_id, size) for e in page][
            : len(everything)
        ] == (everything)


def test_page_sizes_and_cursors_are_checked(client: TestClient) -> None:
    order_id = create(client)
    for bad in ("0", "1001", "-1", "abc", "1.5", "", " 5", "+5", "99999999999999999999"):
        response = client.get(events_url(order_id), params={"limit": bad})
        assert response.status_code == 400, bad
        body = response.json()
        assert body["error_code"] == "BAD_VALUE"
        assert body["error_messages"] == ["Bad value: limit (1 to 1000)"]
        assert body["correlation_id"] == response.headers["Klarna-Correlation-Id"]
    for bad in ("nope", "", "Zm9v", "MjAyNi0wMS0wMVQxMjowMDowMHwwfDE"):
        response = client.get(events_url(order_id), params={"after": bad})
        assert response.status_code == 400, bad
        assert response.json()["error_code"] == "BAD_VALUE"
    assert client.get(events_url(order_id), params={"limit": "1000"}).json()["next"] is None


def test_the_last_page_says_so_and_reading_adds_nothing(client: TestClient, store: Store) -> None:
    order_id = create(client)
    client.get(f"{ORDERS}/{order_id}")
    body = client.get(events_url(order_id), params={"limit": "1"}).json()
    assert set(body) == {"order_id", "events", "next"}
    assert [e["method"] for e in body["events"]] == ["POST"]
    before = rows(store)
    rest = client.get(events_url(order_id), params={"limit": "1", "after": body["next"]}).json()
    assert [e["method"] for e in rest["events"]] == ["GET"]
    assert rest["next"] is None
    assert rows(store) == before


def test_a_call_keeps_its_duration_user_agent_and_the_start_of_its_bodies(
    client: TestClient,
) -> None:
    order_id = create(client)
    long_reference = "r" * 3000  # the body grows past what the timeline keeps
    update = make_order(merchant_reference2=long_reference[:255])
    updated = client.post(
        f"{ORDERS}/{order_id}", json=update, headers={"User-Agent": "shop-plugin/1.2"}
    )
    assert updated.status_code == 200, updated.text
    events = client.get(events_url(order_id)).json()["events"]
    create_call, update_call = [e for e in events if e["kind"] == "api.call"][:2]
    assert create_call["method"] == "POST"
    assert create_call["path"] == ORDERS
    assert create_call["status"] == 201
    assert create_call["response"].startswith('{"order_id":"' + order_id)
    assert len(create_call["response"].encode()) <= 2000  # the snippet makes it longer
    assert update_call["user_agent"] == "shop-plugin/1.2"
    assert update_call["duration_ms"] >= 0
    assert '"merchant_reference2":"rrr' in update_call["request"]
    assert update_call["response"].startswith('{"order_id"')
