"""`DeliveryService` on both engines, delivering to a real local HTTP receiver.

Callbacks are queued in the outbox as a completed purchase queues them; the service claims them
when the (frozen) platform clock says they are due, sends them over real HTTP, and records each
attempt and where the callback stands. Nothing is mocked: a refused connection is a port nobody
listens on, a time-out is a receiver that answers too late.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox import __version__
from kco_sandbox.clock import FrozenClock, MerchantClocks
from kco_sandbox.domain import faults as fault_state
from kco_sandbox.domain.delivery import Callback, CallbackKind, Delivery
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.faults import Faults
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.services.delivery import DeliveryService
from kco_sandbox.store import Store
from tests.factories import MERCHANT, make_order
from tests.live import free_port
from tests.receiver import Receiver, Reply

TIMEOUT = 0.5  # seconds one attempt may take, short for the time-out cases
OM = "/ordermanagement/v1/orders"


@pytest.fixture
def service(store: Store, clock: FrozenClock, merchant_http: MerchantHttp) -> DeliveryService:
    return DeliveryService(MerchantClocks(clock), store, merchant_http, Delivery(timeout=TIMEOUT))


def queue(
    store: Store,
    clock: FrozenClock,
    url: str,
    kind: CallbackKind = CallbackKind.PUSH,
    order_id: str = "order-1",
    body: bytes = b"",
) -> Callback:
    """Queue a callback as a purchase completing now would."""
    now = clock.now()
    callback = Callback(
        callback_id=f"cb-{order_id}-{kind.value}",
        order_id=order_id,
        merchant_id=MERCHANT.merchant_id,
        kind=kind,
        url=url,
        body=body,
        starts_at=now,
        next_attempt_at=Delivery().schedule_for(kind).attempt_at(now, 0),
    )
    store.outbox.enqueue(callback, now)
    return callback


def standing(store: Store, order_id: str = "order-1") -> dict[str, Any]:
    [row] = store.outbox.list_callbacks(order_id)
    return row


def attempts(store: Store, order_id: str = "order-1") -> list[dict[str, Any]]:
    return store.outbox.attempts_for(order_id)


def minutes(clock: FrozenClock, n: float) -> None:
    clock.advance(timedelta(minutes=n))


# Pushes: any answer, or none, is an attempt; the schedule goes on.


@pytest.mark.parametrize("status", [200, 500])
def test_a_push_is_sent_on_time_and_keeps_its_schedule_whatever_the_answer(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver, status: int
) -> None:
    receiver.on("/push", Reply(status))
    start = clock.now()
    queue(store, clock, receiver.url + "/push?order=order-1")
    minutes(clock, 1.99)
    assert service.deliver_due() == 0
    assert receiver.calls("/push") == []
    minutes(clock, 0.01)
    assert service.deliver_due() == 1
    [push] = receiver.calls("/push")
    assert (push.method, push.path, push.body) == ("POST", "/push?order=order-1", b"")
    assert push.headers["User-Agent"] == f"kco-sandbox/{__version__}"
    assert "Content-Type" not in push.headers
    [attempt] = attempts(store)
    assert (attempt["at"], attempt["status"], attempt["error"]) == (clock.now(), status, None)
    assert standing(store) | {"callback_id": None} == {
        "callback_id": None,
        "order_id": "order-1",
        "kind": "push",
        "url": receiver.url + "/push?order=order-1",
        "status": "pending",
        "attempts": 1,
        "next_attempt_at": start + timedelta(minutes=7),
    }
    assert service.deliver_due() == 0  # the next one is not due yet


def test_a_push_without_an_answer_in_time_is_an_attempt(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    receiver.on("/push", Reply(200, delay=TIMEOUT + 1.0))
    start = clock.now()
    queue(store, clock, receiver.url + "/push")
    minutes(clock, 2)
    began = time.monotonic()
    assert service.deliver_due() == 1
    assert time.monotonic() - began < TIMEOUT + 0.9  # it gave up waiting
    [attempt] = attempts(store)
    assert (attempt["status"], attempt["error"]) == (None, f"no answer within {TIMEOUT:g} s")
    assert (standing(store)["status"], standing(store)["next_attempt_at"]) == (
        "pending",
        start + timedelta(minutes=7),
    )


def test_a_push_to_a_refused_connection_is_an_attempt(
    store: Store, clock: FrozenClock, service: DeliveryService
) -> None:
    start = clock.now()
    queue(store, clock, f"http://127.0.0.1:{free_port()}/push")  # nobody listens there
    minutes(clock, 2)
    assert service.deliver_due() == 1
    [attempt] = attempts(store)
    assert attempt["status"] is None
    assert attempt["error"].startswith("ConnectError: ")
    assert (standing(store)["status"], standing(store)["next_attempt_at"]) == (
        "pending",
        start + timedelta(minutes=7),
    )


def test_a_redirect_is_an_answer_and_is_not_followed(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    receiver.on("/push", Reply(302, headers={"Location": receiver.url + "/elsewhere"}))
    queue(store, clock, receiver.url + "/push")
    minutes(clock, 2)
    assert service.deliver_due() == 1
    assert [a["status"] for a in attempts(store)] == [302]
    assert receiver.calls("/elsewhere") == []


def test_a_long_jump_of_the_clock_makes_every_push_due_in_it(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    queue(store, clock, receiver.url + "/push")
    minutes(clock, 120)  # attempts at 2, 7, 22, 52 and 112 minutes
    assert service.deliver_due() == 5
    assert len(receiver.calls("/push")) == 5
    minutes(clock, 48 * 60)
    assert service.deliver_due() == 11  # the rest of the 16, then the window is over
    assert (standing(store)["status"], standing(store)["attempts"]) == ("expired", 16)


def test_an_acknowledged_orders_push_is_stopped_without_a_request(
    client: TestClient,
    store: Store,
    clock: FrozenClock,
    service: DeliveryService,
    receiver: Receiver,
) -> None:
    urls = make_order()["merchant_urls"] | {"push": receiver.url + "/push"}
    order_id = client.post("/checkout/v3/orders", json=make_order(merchant_urls=urls)).json()[
        "order_id"
    ]
    assert client.post(f"/_sandbox/orders/{order_id}/complete", json={}).status_code == 200
    assert client.post(f"{OM}/{order_id}/acknowledge").status_code == 204
    minutes(clock, 2)
    assert service.deliver_due() == 0
    assert receiver.calls("/push") == []
    assert attempts(store, order_id) == []
    row = standing(store, order_id)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("stopped", 0, None)


# Notifications: delivered on 2xx, else tried again.


@pytest.mark.parametrize("status", [200, 204])
def test_a_notification_taken_with_2xx_is_delivered(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver, status: int
) -> None:
    receiver.on("/notify", Reply(status))
    body = b'{"order_id": "order-1", "event_type": "FRAUD_RISK_ACCEPTED"}'
    queue(store, clock, receiver.url + "/notify", CallbackKind.NOTIFICATION, body=body)
    assert service.deliver_due() == 1  # due at once
    [note] = receiver.calls("/notify")
    assert (note.body, note.headers["Content-Type"]) == (body, "application/json")
    row = standing(store)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("delivered", 1, None)
    minutes(clock, 48 * 60)
    assert service.deliver_due() == 0


@pytest.mark.parametrize("reply", [Reply(404), Reply(500), Reply(302), Reply(200, delay=1.5)])
def test_a_notification_not_taken_is_tried_again(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver, reply: Reply
) -> None:
    receiver.on("/notify", reply)
    start = clock.now()
    queue(store, clock, receiver.url + "/notify", CallbackKind.NOTIFICATION, body=b"{}")
    assert service.deliver_due() == 1
    assert (standing(store)["status"], standing(store)["next_attempt_at"]) == (
        "pending",
        start + timedelta(minutes=1),
    )
    receiver.on("/notify", Reply(200))
    minutes(clock, 1)
    assert service.deliver_due() == 1
    assert [a["status"] for a in attempts(store)] == [
        reply.status if not reply.delay else None,
        200,
    ]
    assert standing(store)["status"] == "delivered"


# Fault injection, as `domain/faults.py` documents it.


def set_faults(store: Store, faults: Faults) -> None:
    store.state.set(fault_state.state_key(MERCHANT.merchant_id), fault_state.encode(faults))


def stored_faults(store: Store) -> Faults:
    return fault_state.decode(store.state.get(fault_state.state_key(MERCHANT.merchant_id)))


def three_pushes(store: Store, clock: FrozenClock, receiver: Receiver) -> list[str]:
    orders = ["order-1", "order-2", "order-3"]
    for n, order_id in enumerate(orders):
        queue(store, clock, f"{receiver.url}/push?order={order_id}", order_id=order_id)
        clock.advance(timedelta(seconds=1 if n < 2 else 0))  # due one after the other
    minutes(clock, 2)
    return orders


def sent_orders(receiver: Receiver) -> list[str]:
    return [call.path.split("=", 1)[1] for call in receiver.calls("/push")]


def errors(store: Store, orders: list[str]) -> list[list[str | None]]:
    return [[a["error"] for a in attempts(store, order_id)] for order_id in orders]


def test_drop_and_timeout_faults_record_attempts_without_sending(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    set_faults(store, Faults(drop=1, timeout=1))
    orders = three_pushes(store, clock, receiver)
    assert service.deliver_due() == 3
    # The drop is used first (the time-out waits for the next attempt), then the time-out.
    assert errors(store, orders) == [
        ["dropped (fault injection)"],
        ["timed out (fault injection)"],
        [None],
    ]
    assert sent_orders(receiver) == ["order-3"]
    assert stored_faults(store) == Faults()
    # A faulted attempt is an attempt: the schedule goes on.
    assert {standing(store, o)["attempts"] for o in orders} == {1}
    assert {standing(store, o)["status"] for o in orders} == {"pending"}


def test_a_duplicate_sends_the_same_request_twice_in_a_row(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    set_faults(store, Faults(duplicate=1))
    orders = three_pushes(store, clock, receiver)
    assert service.deliver_due() == 4
    assert sent_orders(receiver) == ["order-1", "order-1", "order-2", "order-3"]
    first, second = receiver.calls("/push")[:2]
    assert (first.headers, first.body) == (second.headers, second.body)
    assert [len(attempts(store, o)) for o in orders] == [2, 1, 1]
    assert standing(store, "order-1")["attempts"] == 2
    assert stored_faults(store) == Faults()


def test_a_dropped_callbacks_duplicate_is_sent(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    set_faults(store, Faults(drop=1, duplicate=1))
    queue(store, clock, receiver.url + "/push?order=order-1")
    minutes(clock, 2)
    assert service.deliver_due() == 2
    assert errors(store, ["order-1"]) == [["dropped (fault injection)", None]]
    assert sent_orders(receiver) == ["order-1"]
    assert stored_faults(store) == Faults()


def test_a_delay_holds_every_attempt_until_cleared(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    set_faults(store, Faults(delay_ms=200))
    orders = three_pushes(store, clock, receiver)
    began = time.monotonic()
    assert service.deliver_due() == 3
    assert time.monotonic() - began >= 0.6
    assert all(a["duration_ms"] >= 200 for o in orders for a in attempts(store, o))
    assert len(receiver.calls("/push")) == 3
    assert stored_faults(store) == Faults(delay_ms=200)  # not used up


def test_faults_belong_to_their_merchant(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    store.state.set(fault_state.state_key("someone-else"), fault_state.encode(Faults(drop=5)))
    queue(store, clock, receiver.url + "/push?order=order-1")
    minutes(clock, 2)
    assert service.deliver_due() == 1
    assert sent_orders(receiver) == ["order-1"]


# The clock.


def test_an_advance_waits_for_a_callback_another_worker_holds(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    queue(store, clock, receiver.url + "/push")
    minutes(clock, 2)
    # Another worker has claimed the push and is still sending it; it records it shortly.
    [held] = store.outbox.claim_due(clock.now(), datetime.now(UTC), service.lease, 10)
    other = threading.Timer(0.3, service.deliver, args=(held,))
    other.start()
    began = time.monotonic()
    advanced = service.advance(MERCHANT.merchant_id, 0)
    other.join()
    assert time.monotonic() - began >= 0.25  # it waited for the other worker
    assert advanced.attempted == 1
    assert len(receiver.calls("/push")) == 1  # sent once, by the one that held it


def test_the_clock_offset_is_stored_and_taken_up_by_another_process(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    queue(store, clock, receiver.url + "/push")
    assert service.advance(MERCHANT.merchant_id, 150).attempted == 1
    # Another process over the same data: the merchant's clock catches up at its next round.
    elsewhere = MerchantClocks(FrozenClock())
    other = DeliveryService(elsewhere, store, service.http, service.delivery)
    assert elsewhere.offset(MERCHANT.merchant_id) == timedelta(0)
    pause = other.run_round(poll=1.0)
    assert elsewhere.offset(MERCHANT.merchant_id) == timedelta(seconds=150)
    assert elsewhere.offset("someone-else") == timedelta(0)  # only that merchant's
    assert pause == 1.0  # the next push is 4.5 minutes away: wait at most `poll`
    with pytest.raises(BadValue, match="seconds"):
        service.advance(MERCHANT.merchant_id, -1)


def test_a_round_waits_until_the_next_callback_falls_due(
    store: Store, clock: FrozenClock, service: DeliveryService, receiver: Receiver
) -> None:
    assert service.run_round(poll=1.0) == 1.0  # nothing queued
    queue(store, clock, receiver.url + "/push")
    minutes(clock, 2)
    clock.advance(timedelta(seconds=-0.25))
    assert service.run_round(poll=1.0) == pytest.approx(0.25)
    clock.advance(timedelta(seconds=0.25))
    # Due now: its merchant's lane sends it while the loop waits a moment before looking again.
    assert service.run_round(poll=1.0) <= 0.05
    service.lanes.wait()
    assert service.run_round(poll=1.0) == 1.0  # sent; the next one is minutes away
    assert len(receiver.calls("/push")) == 1


def test_checkout_callbacks_and_pushes_go_out_through_the_same_edge(
    client: TestClient, clock: FrozenClock, receiver: Receiver
) -> None:
    urls = make_order()["merchant_urls"] | {
        "push": receiver.url + "/push",
        "validation": receiver.url + "/validate",
    }
    order_id = client.post("/checkout/v3/orders", json=make_order(merchant_urls=urls)).json()[
        "order_id"
    ]
    assert client.post(f"/_sandbox/orders/{order_id}/complete", json={}).status_code == 200
    assert client.post("/_sandbox/clock/advance", json={"seconds": 120}).json()["attempted"] == 1
    [validation] = receiver.calls("/validate")
    [push] = receiver.calls("/push")
    assert validation.headers["User-Agent"] == push.headers["User-Agent"]
    assert push.headers["User-Agent"] == f"kco-sandbox/{__version__}"


# Kinds with headers of their own (webhooks) and a target (their destination).


def signed(callback: Callback, at: datetime) -> dict[str, str]:
    if callback.target == "gone":
        raise LookupError("no such destination")
    return {"webhook-id": callback.callback_id, "webhook-timestamp": str(int(at.timestamp()))}


@pytest.fixture
def hooks(store: Store, clock: FrozenClock, merchant_http: MerchantHttp) -> DeliveryService:
    return DeliveryService(
        MerchantClocks(clock), store, merchant_http, headers={CallbackKind.WEBHOOK: signed}
    )


def queue_webhook(store: Store, clock: FrozenClock, url: str, target: str) -> Callback:
    now = clock.now()
    callback = Callback(
        callback_id="kevt_1",
        order_id="order-1",
        merchant_id=MERCHANT.merchant_id,
        kind=CallbackKind.WEBHOOK,
        url=url,
        body=b'{"type": "capture.created"}',
        starts_at=now,
        next_attempt_at=now,
        target=target,
    )
    store.outbox.enqueue(callback, now)
    return callback


def test_a_webhook_carries_the_headers_made_for_its_attempt_and_keeps_its_target(
    store: Store, clock: FrozenClock, hooks: DeliveryService, receiver: Receiver
) -> None:
    receiver.on("/hook", Reply(500))
    queue_webhook(store, clock, receiver.url + "/hook", target="dest-1")
    assert hooks.deliver_due() == 1
    clock.advance(timedelta(seconds=5))
    assert hooks.deliver_due() == 1
    first, second = receiver.calls("/hook")
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "kevt_1"
    # Each attempt is signed at its own time.
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 5
    assert first.headers["Content-Type"] == "application/json"
    [claimed] = store.outbox.claim_due(
        clock.now() + timedelta(seconds=300), datetime.now(UTC), timedelta(seconds=1), 5
    )
    assert claimed.target == "dest-1"


def test_a_webhook_answered_410_is_stopped(
    store: Store, clock: FrozenClock, hooks: DeliveryService, receiver: Receiver
) -> None:
    receiver.on("/gone", Reply(410))
    queue_webhook(store, clock, receiver.url + "/gone", target="dest-1")
    assert hooks.deliver_due() == 1
    assert (standing(store)["status"], standing(store)["next_attempt_at"]) == ("stopped", None)


def test_a_webhook_whose_headers_cannot_be_made_is_stopped_without_a_call(
    store: Store, clock: FrozenClock, hooks: DeliveryService, receiver: Receiver
) -> None:
    receiver.on("/hook", Reply(200))
    queue_webhook(store, clock, receiver.url + "/hook", target="gone")
    assert hooks.deliver_due() == 0
    assert receiver.calls("/hook") == []
    assert (standing(store)["status"], attempts(store)) == ("stopped", [])
