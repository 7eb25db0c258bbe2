"""Push and notifications on the vendor's schedule, moved by the sandbox clock, to a receiver.

The schedules themselves are tables in `tests/unit/test_delivery.py`; the whole 48-hour walk of
a push, to the minute, is `tests/e2e/test_push_schedule_walk.py`.
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.factories import make_order
from tests.receiver import Receiver, Reply

OM = "/ordermanagement/v1/orders"


def completed(client: TestClient, receiver: Receiver, email: str = "c@example.com") -> str:
    urls = make_order()["merchant_urls"] | {
        "push": receiver.url + "/push?order={checkout.order.id}",
        "notification": receiver.url + "/notify",
    }
    created = client.post("/checkout/v3/orders", json=make_order(merchant_urls=urls))
    order_id: str = created.json()["order_id"]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={"email": email})
    assert done.status_code == 200, done.text
    return order_id


def advance(client: TestClient, seconds: float) -> dict[str, Any]:
    response = client.post("/_sandbox/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_two_hours_bring_five_pushes(client: TestClient, receiver: Receiver) -> None:
    order_id = completed(client, receiver)
    assert advance(client, 119)["attempted"] == 0
    assert receiver.calls("/push") == []
    assert advance(client, 2 * 3600 - 119) == {"now": "2026-01-01T14:00:00.000Z", "attempted": 5}
    pushes = receiver.calls("/push")
    assert len(pushes) == 5
    assert all(p.method == "POST" and p.body == b"" for p in pushes)
    assert pushes[0].path == f"/push?order={order_id}"
    assert pushes[0].headers["User-Agent"].startswith("kco-sandbox/")


def test_acknowledging_stops_the_pushes(client: TestClient, receiver: Receiver) -> None:
    order_id = completed(client, receiver)
    advance(client, 10 * 60)
    assert len(receiver.calls("/push")) == 2
    assert client.post(f"{OM}/{order_id}/acknowledge").status_code == 204
    assert advance(client, 48 * 3600)["attempted"] == 0
    assert len(receiver.calls("/push")) == 2


def test_acknowledged_before_the_first_attempt_gets_no_push(
    client: TestClient, receiver: Receiver
) -> None:
    order_id = completed(client, receiver)
    assert client.post(f"{OM}/{order_id}/acknowledge").status_code == 204
    assert advance(client, 48 * 3600)["attempted"] == 0
    assert receiver.calls("/push") == []


def test_a_pending_order_gets_its_decision_notified(client: TestClient, receiver: Receiver) -> None:
    order_id = completed(client, receiver, email="p+pend-reject-05@example.com")
    client.post(f"{OM}/{order_id}/acknowledge")
    advance(client, 4 * 60)
    assert receiver.calls("/notify") == []
    assert client.get(f"{OM}/{order_id}").json()["fraud_status"] == "PENDING"
    advance(client, 60)
    [note] = receiver.calls("/notify")
    assert note.json() == {"order_id": order_id, "event_type": "FRAUD_RISK_REJECTED"}
    assert note.headers["Content-Type"] == "application/json"
    order = client.get(f"{OM}/{order_id}").json()
    assert (order["fraud_status"], order["status"]) == ("REJECTED", "CANCELLED")


def test_a_failed_notification_is_tried_again(client: TestClient, receiver: Receiver) -> None:
    receiver.on("/notify", Reply(503))
    order_id = completed(client, receiver, email="p+pend-accept-01@example.com")
    client.post(f"{OM}/{order_id}/acknowledge")
    advance(client, 60)
    assert len(receiver.calls("/notify")) == 1
    receiver.on("/notify", Reply(200))
    advance(client, 60)
    assert len(receiver.calls("/notify")) == 2
    advance(client, 48 * 3600)
    assert len(receiver.calls("/notify")) == 2  # delivered: no more attempts


def test_fault_injection(client: TestClient, receiver: Receiver) -> None:
    assert client.put("/_sandbox/callbacks/faults", json={"drop": 1, "duplicate": 1}).json() == {
        "drop": 1,
        "timeout": 0,
        "duplicate": 1,
        "delay_ms": 0,
    }
    order_id = completed(client, receiver)
    advance(client, 120)  # the first push: dropped, and its duplicate sent
    assert len(receiver.calls("/push")) == 1
    events = client.get(f"/_sandbox/orders/{order_id}/events").json()["events"]
    errors = [e["error"] for e in events if e["kind"] == "push.attempt"]
    assert errors == ["dropped (fault injection)", None]
    assert client.get("/_sandbox/callbacks/faults").json()["drop"] == 0
    assert client.delete("/_sandbox/callbacks/faults").status_code == 204


def test_the_clock_reads_and_refuses_to_go_back(client: TestClient) -> None:
    assert client.get("/_sandbox/clock").json() == {
        "now": "2026-01-01T12:00:00.000Z",
        "offset_seconds": 0.0,
        "scale": 1.0,
    }
    response = client.post("/_sandbox/clock/advance", json={"seconds": -1})
    assert response.status_code == 400
    assert response.json()["error_messages"] == ["Bad value: seconds"]
    assert client.post("/_sandbox/clock/advance", json={}).status_code == 400


def test_fraud_stopped_can_be_issued(client: TestClient, receiver: Receiver) -> None:
    order_id = completed(client, receiver)
    response = client.post(f"/_sandbox/orders/{order_id}/fraud-stop")
    assert response.status_code == 200
    advance(client, 0)
    [note] = receiver.calls("/notify")
    assert note.json() == {"order_id": order_id, "event_type": "FRAUD_RISK_STOPPED"}
