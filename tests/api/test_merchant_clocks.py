"""Each merchant has its own clock and its own faults: no merchant disturbs another.

On both engines, through the real app: merchant A moving its clock expires A's orders and makes
A's pushes fall due, while merchant B's orders, pushes and clock stay where they were; A's delay
fault never holds up B's deliveries (measured against a real receiver); the bounds of an advance
and of faults are the vendor's 400; each merchant's offset survives a restart, and the offset a
database stored before clocks were per merchant is every merchant's start.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.domain import faults as fault_state
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.outbound.worker import Worker
from kco_sandbox.platform import build_platform, create_app, delivery_round
from kco_sandbox.services.delivery import OFFSET_KEY
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.conftest import BASE_URL
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order
from tests.receiver import Receiver

A = (MERCHANT.merchant_id, MERCHANT.api_key)
B = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
DAY = 24 * 3600
MAX_ADVANCE = 400 * DAY
LEASE_MS = 15_000  # the default callback time-out (10 s) and a 5 s margin


def create(client: TestClient, auth: tuple[str, str], receiver: Receiver | None = None) -> str:
    """An order of `auth`'s merchant (B sells in Germany), pushing to `receiver` if given."""
    fields: dict[str, Any] = {}
    if auth == B:
        fields = {"purchase_country": "DE", "purchase_currency": "EUR", "locale": "de-DE"}
    if receiver is not None:
        urls = make_order()["merchant_urls"] | {"push": f"{receiver.url}/push/{auth[0]}"}
        fields["merchant_urls"] = urls
    created = client.post("/checkout/v3/orders", json=make_order(**fields), auth=auth)
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    return order_id


def completed(client: TestClient, auth: tuple[str, str], receiver: Receiver) -> str:
    order_id = create(client, auth, receiver)
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={}, auth=auth)
    assert done.status_code == 200, done.text
    return order_id


def advance(client: TestClient, auth: tuple[str, str], seconds: float) -> Any:
    return client.post("/_sandbox/clock/advance", json={"seconds": seconds}, auth=auth)


def offset(client: TestClient, auth: tuple[str, str]) -> float:
    seconds: float = client.get("/_sandbox/clock", auth=auth).json()["offset_seconds"]
    return seconds


def pushes(receiver: Receiver, merchant_id: str) -> int:
    return len(receiver.calls(f"/push/{merchant_id}"))


def assert_bad_value(response: Any, field: str, note: str | None = None) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "BAD_VALUE"
    assert body["correlation_id"]
    [message] = body["error_messages"]
    assert message.startswith(f"Bad value: {field}")
    if note is not None:
        assert note in message


# One merchant's time


def test_advancing_one_merchant_expires_only_its_own_checkout_orders(client: TestClient) -> None:
    mine, theirs = create(client, A), create(client, B)
    assert advance(client, A, 31 * DAY).status_code == 200
    assert client.get(f"/checkout/v3/orders/{mine}", auth=A).status_code == 404  # expired
    assert client.get(f"/checkout/v3/orders/{theirs}", auth=B).status_code == 200
    updated = client.post(
        f"/checkout/v3/orders/{theirs}", json={"merchant_reference1": "B-1"}, auth=B
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["merchant_reference1"] == "B-1"
    assert offset(client, A) == 31 * DAY
    assert offset(client, B) == 0.0
    # The platform's own time (health) is the base clock's, not A's.
    assert client.get("/_sandbox/health").json()["clock"] == "2026-01-01T12:00:00.000Z"


def test_advancing_one_merchant_makes_only_its_own_pushes_fall_due(
    client: TestClient, receiver: Receiver
) -> None:
    mine, theirs = completed(client, A, receiver), completed(client, B, receiver)
    advanced = advance(client, A, 120).json()
    assert advanced == {"now": "2026-01-01T12:02:00.000Z", "attempted": 1}
    assert (pushes(receiver, A[0]), pushes(receiver, B[0])) == (1, 0)
    assert advance(client, B, 0).json()["attempted"] == 0  # B's push is not due on B's clock
    assert pushes(receiver, B[0]) == 0
    # A's events are at A's time; B's order still authorizes for 28 days of B's time.
    events = client.get(f"/_sandbox/orders/{mine}/events", auth=A).json()["events"]
    [attempt] = [e for e in events if e["kind"] == "push.attempt"]
    assert attempt["at"] == "2026-01-01T12:02:00.000Z"
    theirs_om = client.get(f"/ordermanagement/v1/orders/{theirs}", auth=B).json()
    assert theirs_om["expires_at"] == "2026-01-29T12:00:00.000Z"
    assert advance(client, B, 120).json()["attempted"] == 1
    assert pushes(receiver, B[0]) == 1


def test_an_order_management_order_expires_on_its_merchants_clock(
    client: TestClient, receiver: Receiver
) -> None:
    mine, theirs = completed(client, A, receiver), completed(client, B, receiver)
    advance(client, A, 29 * DAY)
    assert client.get(f"/ordermanagement/v1/orders/{mine}", auth=A).json()["status"] == "EXPIRED"
    theirs_om = client.get(f"/ordermanagement/v1/orders/{theirs}", auth=B).json()
    assert theirs_om["status"] == "AUTHORIZED"
    captured = client.post(
        f"/ordermanagement/v1/orders/{theirs}/captures", json={"captured_amount": 100}, auth=B
    )
    assert captured.status_code == 201, captured.text


# Faults touch only their merchant


def test_one_merchants_delay_does_not_hold_up_another_merchants_pushes(
    store: Store, clock: FrozenClock, settings: Settings, receiver: Receiver
) -> None:
    """The delivery worker as `serve` runs it: A's pushes wait 2 s each, B's go out at once."""
    for merchant in settings.merchants:
        store.merchants.put(merchant, clock.now())
    platform = build_platform(settings, store, clock, list(settings.merchants))
    worker = Worker(delivery_round(platform.services, poll=0.05))
    with TestClient(platform.app, base_url=BASE_URL) as client:
        delay = client.put("/_sandbox/callbacks/faults", json={"delay_ms": 2000}, auth=A)
        assert delay.status_code == 200, delay.text
        completed(client, A, receiver)
        completed(client, B, receiver)
        clock.advance(timedelta(seconds=120))  # both merchants' first pushes fall due
        worker.start()
        try:
            began = time.monotonic()
            assert wait(lambda: pushes(receiver, B[0]) == 1, 5.0)
            b_delivered = time.monotonic() - began
            assert wait(lambda: pushes(receiver, A[0]) == 1, 5.0)
            a_delivered = time.monotonic() - began
        finally:
            worker.stop()
            platform.services.delivery.lanes.wait()
    assert b_delivered < 1.0, b_delivered  # well before A's delay of 2 s was over
    assert a_delivered >= 2.0, a_delivered


def test_one_merchants_advance_does_not_wait_for_another_merchants_delay(
    client: TestClient, receiver: Receiver
) -> None:
    assert client.put("/_sandbox/callbacks/faults", json={"delay_ms": 2000}, auth=A).is_success
    completed(client, A, receiver)
    completed(client, B, receiver)
    slow = threading.Thread(target=advance, args=(client, A, 120))
    slow.start()
    try:
        assert wait(lambda: client.get("/_sandbox/clock", auth=A).json()["offset_seconds"], 5.0)
        began = time.monotonic()
        assert advance(client, B, 120).json()["attempted"] == 1
        b_took = time.monotonic() - began
        a_pending = pushes(receiver, A[0]) == 0
    finally:
        slow.join()
    assert b_took < 1.0, b_took
    assert a_pending  # A's push was still waiting out its delay when B's had gone out
    assert pushes(receiver, A[0]) == 1


def test_a_delay_stored_before_the_bounds_does_not_stop_delivery(
    client: TestClient, store: Store, receiver: Receiver
) -> None:
    key = fault_state.state_key(MERCHANT.merchant_id)
    store.state.set(key, '{"delay_ms": 1180591620717411303424}')  # 2**70, once accepted
    completed(client, A, receiver)
    assert advance(client, A, 120).json()["attempted"] == 1
    assert client.get("/_sandbox/callbacks/faults", auth=A).json()["delay_ms"] == 0


# Bounds


def test_one_advance_is_at_most_400_days(client: TestClient) -> None:
    assert_bad_value(advance(client, A, MAX_ADVANCE + 1), "seconds", "400 days")
    assert offset(client, A) == 0.0
    assert advance(client, A, MAX_ADVANCE).status_code == 200
    assert offset(client, A) == MAX_ADVANCE


@pytest.mark.parametrize("seconds", ["1180591620717411303424", "1e308", "NaN", "1e999", "-1"])
def test_huge_or_odd_advances_are_a_400(client: TestClient, seconds: str) -> None:
    response = client.post(
        "/_sandbox/clock/advance",
        content=f'{{"seconds": {seconds}}}',
        headers={"Content-Type": "application/json"},
        auth=A,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "BAD_VALUE"
    assert offset(client, A) == 0.0


def test_a_merchants_clock_is_at_most_ten_years_ahead(client: TestClient) -> None:
    for _ in range(9):
        assert advance(client, A, MAX_ADVANCE).status_code == 200  # 3600 days
    assert advance(client, A, 50 * DAY).status_code == 200  # 3650 days: ten years
    before = client.get("/_sandbox/clock", auth=A).json()
    assert_bad_value(advance(client, A, 1), "seconds", "10 years")
    assert client.get("/_sandbox/clock", auth=A).json() == before  # nothing moved
    # Time-dependent requests keep working at the furthest time.
    order_id = create(client, A)
    assert client.get(f"/checkout/v3/orders/{order_id}", auth=A).status_code == 200
    assert offset(client, B) == 0.0


@pytest.mark.parametrize(
    ("faults", "field", "note"),
    [
        ({"delay_ms": LEASE_MS}, "delay_ms", f"{LEASE_MS} ms"),
        ({"delay_ms": 2**70}, "delay_ms", f"{LEASE_MS} ms"),
        ({"delay_ms": -1}, "delay_ms", None),
        ({"drop": 1001}, "drop", "1000"),
        ({"timeout": 2**70}, "timeout", "1000"),
        ({"duplicate": 1001}, "duplicate", "1000"),
        ({"drop": -1}, "drop", None),
        ({"delay_ms": 1e308}, "delay_ms", None),
    ],
)
def test_faults_out_of_bounds_are_a_400(
    client: TestClient, faults: dict[str, Any], field: str, note: str | None
) -> None:
    assert_bad_value(client.put("/_sandbox/callbacks/faults", json=faults, auth=A), field, note)
    assert client.get("/_sandbox/callbacks/faults", auth=A).json()["delay_ms"] == 0


def test_faults_at_their_bounds_are_taken(client: TestClient) -> None:
    most = {"drop": 1000, "timeout": 1000, "duplicate": 1000, "delay_ms": LEASE_MS - 1}
    assert client.put("/_sandbox/callbacks/faults", json=most, auth=A).json() == most
    assert client.get("/_sandbox/callbacks/faults", auth=B).json()["drop"] == 0  # A's only


# Surviving a restart


def test_each_merchants_offset_survives_a_restart(
    store: Store, settings: Settings, merchant_http: MerchantHttp
) -> None:
    first = create_app(
        settings, store, FrozenClock(), list(settings.merchants), caller=merchant_http
    )
    with TestClient(first, base_url=BASE_URL) as client:
        for merchant in settings.merchants:
            store.merchants.put(merchant, FrozenClock().now())
        assert advance(client, A, 3600).status_code == 200
    again = create_app(
        settings, store, FrozenClock(), list(settings.merchants), caller=merchant_http
    )
    with TestClient(again, base_url=BASE_URL) as client:
        assert (offset(client, A), offset(client, B)) == (3600.0, 0.0)
        assert client.get("/_sandbox/clock", auth=A).json()["now"] == "2026-01-01T13:00:00.000Z"


@pytest.mark.parametrize(("stored", "start"), [("7200.0", 7200.0), ("1e300", 3650.0 * DAY)])
def test_the_offset_stored_before_clocks_were_per_merchant_is_every_merchants_start(
    store: Store, settings: Settings, merchant_http: MerchantHttp, stored: str, start: float
) -> None:
    """An old database keeps its time; one an old version pushed past any range is brought back
    within ten years rather than failing every request."""
    store.state.set(OFFSET_KEY, stored)
    for merchant in settings.merchants:
        store.merchants.put(merchant, FrozenClock().now())
    app = create_app(settings, store, FrozenClock(), list(settings.merchants), caller=merchant_http)
    with TestClient(app, base_url=BASE_URL) as client:
        assert (offset(client, A), offset(client, B)) == (start, start)
        if start + 60 <= 3650 * DAY:
            assert advance(client, A, 60).status_code == 200
            assert (offset(client, A), offset(client, B)) == (start + 60, start)
        order_id = create(client, B)
        assert client.get(f"/checkout/v3/orders/{order_id}", auth=B).status_code == 200


def wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def test_a_merchant_with_the_longest_id_has_a_clock_and_faults_of_its_own(
    store: Store, settings: Settings, merchant_http: MerchantHttp
) -> None:
    """Keys in the platform state name the merchant; a 255-character id fits on both engines."""
    long = Merchant("m" * 255, "key", "Long Shop")
    auth = (long.merchant_id, long.api_key)
    app = create_app(settings, store, FrozenClock(), [long], caller=merchant_http)
    with TestClient(app, base_url=BASE_URL) as client:
        assert advance(client, auth, 3600).status_code == 200
        assert offset(client, auth) == 3600.0
        faults = client.put("/_sandbox/callbacks/faults", json={"drop": 2}, auth=auth)
        assert faults.status_code == 200, faults.text
        assert client.get("/_sandbox/callbacks/faults", auth=auth).json()["drop"] == 2


def test_a_clock_move_shows_on_the_timelines_it_can_change(
    client: TestClient, receiver: Receiver
) -> None:
    open_order = create(client, A)
    waiting = completed(client, A, receiver)  # its push is still to be sent
    others = create(client, B)
    assert advance(client, A, 600).status_code == 200

    def moves(order_id: str, auth: tuple[str, str]) -> list[dict[str, Any]]:
        events = client.get(f"/_sandbox/orders/{order_id}/events", auth=auth).json()["events"]
        return [e for e in events if e["kind"] == "clock.advanced"]

    for order_id in (open_order, waiting):
        [moved] = moves(order_id, A)
        assert moved["seconds"] == 600
        assert moved["to"].startswith("2026-01-01T12:10")
    assert moves(others, B) == []  # another merchant's clock did not move
    # The push the move made due comes after the move in the order's timeline.
    kinds = [e["kind"] for e in client.get(f"/_sandbox/orders/{waiting}/events").json()["events"]]
    assert kinds.index("clock.advanced") < kinds.index("push.attempt")
