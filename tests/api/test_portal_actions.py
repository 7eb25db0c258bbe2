"""The portal's order actions and sandbox page, on both engines, through the real app.

A merchant signs in with its API credentials, completes an order through the sandbox API, and
acts on it with the order page's forms; every effect is checked through the public APIs (Order
Management, the sandbox's clock, faults and timeline), never by reading the store.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.conftest import BASE_URL
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order
from tests.receiver import Receiver

ORDERS = "/checkout/v3/orders"
OM = "/ordermanagement/v1/orders"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client: TestClient, merchant: Any = MERCHANT) -> str:
    """Sign in to the portal as `merchant`; the session's form token."""
    client.cookies.clear()
    answer = client.post(
        "/portal/sign-in",
        data={"username": merchant.merchant_id, "password": merchant.api_key},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/portal/orders")
    found = TOKEN.search(page.text)
    assert found is not None, page.text
    return found.group(1)


def completed_order(client: TestClient, email: str = "anna@example.com", **order: Any) -> str:
    created = client.post(ORDERS, json=make_order(**order))
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={"email": email})
    assert done.status_code == 200, done.text
    return order_id


def act(client: TestClient, token: str | None, order_id: str, action: str, **fields: str) -> Any:
    data = dict(fields)
    if token is not None:
        data["csrf_token"] = token
    return client.post(
        f"/portal/orders/{order_id}/actions/{action}", data=data, follow_redirects=False
    )


def om(client: TestClient, order_id: str) -> dict[str, Any]:
    answer = client.get(f"{OM}/{order_id}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def offered(client: TestClient, order_id: str) -> set[str]:
    page = client.get(f"/portal/orders/{order_id}")
    assert page.status_code == 200, page.text
    found = re.search(
        r'<section class="card order-actions" id="actions".*?</section>', page.text, re.S
    )
    assert found is not None, page.text
    return set(re.findall(rf'action="/portal/orders/{order_id}/actions/(\w+)"', found.group(0)))


def done(answer: Any, order_id: str, action: str) -> None:
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/portal/orders/{order_id}?done={action}#actions"


def test_capture_and_refund_happen_as_through_the_api(client: TestClient) -> None:
    token = sign_in(client)
    order_id = completed_order(client)
    assert {"capture", "cancel", "acknowledge", "extend"} <= offered(client, order_id)
    assert "refund" not in offered(client, order_id)
    done(act(client, token, order_id, "capture", amount="120.50"), order_id, "capture")
    after = om(client, order_id)
    assert after["status"] == "PART_CAPTURED"
    assert [c["captured_amount"] for c in after["captures"]] == [12050]
    # The notice, and the action in the order's timeline.
    page = client.get(f"/portal/orders/{order_id}?done=capture")
    assert "Captured." in page.text
    events = client.get(f"/_sandbox/orders/{order_id}/events").json()["events"]
    actions = [e for e in events if e["kind"] == "portal.action"]
    assert actions[-1]["operation"] == "capture"
    assert actions[-1]["amount"] == 12050
    assert actions[-1]["status"] == 200
    # An empty amount captures what is left, then refunds all that was captured.
    done(act(client, token, order_id, "capture", amount=""), order_id, "capture")
    assert om(client, order_id)["captured_amount"] == 50000
    assert "capture" not in offered(client, order_id)
    done(act(client, token, order_id, "refund", amount="0,50"), order_id, "refund")
    done(act(client, token, order_id, "refund"), order_id, "refund")
    refunds = om(client, order_id)["refunds"]
    assert [r["refunded_amount"] for r in refunds] == [50, 49950]


def test_an_over_capture_shows_the_vendors_refusal_and_changes_nothing(
    client: TestClient,
) -> None:
    token = sign_in(client)
    order_id = completed_order(client)
    answer = act(client, token, order_id, "capture", amount="500.01")
    assert answer.status_code == 403
    assert "CAPTURE_NOT_ALLOWED" in answer.text
    assert (
        "Captured amount is higher than the remaining authorized amount. Capture not possible."
        in answer.text
    )
    assert 'value="500.01"' in answer.text  # what was typed stays in the field
    assert 'id="timeline"' in answer.text  # on the order page itself
    assert om(client, order_id)["captures"] == []
    events = client.get(f"/_sandbox/orders/{order_id}/events").json()["events"]
    refused = [e for e in events if e["kind"] == "portal.action"]
    assert refused[-1]["error_code"] == "CAPTURE_NOT_ALLOWED"
    assert refused[-1]["status"] == 403


@pytest.mark.parametrize("typed", ["12.345", "abc", "-5", "1e3", "9999999999.00"])
def test_an_amount_that_is_not_one_is_refused_with_a_message(
    client: TestClient, typed: str
) -> None:
    token = sign_in(client)
    order_id = completed_order(client)
    answer = act(client, token, order_id, "capture", amount=typed)
    assert answer.status_code == 400
    assert "BAD_VALUE" in answer.text
    assert "amount" in answer.text
    assert om(client, order_id)["captures"] == []


def test_a_post_without_the_form_token_is_refused_and_changes_nothing(
    client: TestClient,
) -> None:
    sign_in(client)
    order_id = completed_order(client)
    assert act(client, None, order_id, "cancel").status_code == 403
    assert act(client, "forged", order_id, "capture", amount="").status_code == 403
    after = om(client, order_id)
    assert after["status"] == "AUTHORIZED"
    assert after["captures"] == []


def test_cancel_release_extend_and_what_is_offered_after_them(client: TestClient) -> None:
    token = sign_in(client)
    cancelled = completed_order(client)
    before = om(client, cancelled)["expires_at"]
    client.post("/_sandbox/clock/advance", json={"seconds": 86400})  # 28 days from a day later
    done(act(client, token, cancelled, "extend"), cancelled, "extend")
    assert om(client, cancelled)["expires_at"] > before
    done(act(client, token, cancelled, "cancel"), cancelled, "cancel")
    assert om(client, cancelled)["status"] == "CANCELLED"
    assert not {"capture", "cancel", "refund", "release"} & offered(client, cancelled)
    # Asked anyway (an old tab): the vendor's refusal, nothing changes.
    again = act(client, token, cancelled, "capture", amount="")
    assert again.status_code == 403
    assert "CAPTURE_NOT_ALLOWED" in again.text
    released = completed_order(client)
    assert "release" not in offered(client, released)
    done(act(client, token, released, "capture", amount="100"), released, "capture")
    assert "release" in offered(client, released)
    done(act(client, token, released, "release"), released, "release")
    after = om(client, released)
    assert (after["status"], after["remaining_authorized_amount"]) == ("CAPTURED", 0)


def test_resend_push_and_acknowledge(client: TestClient, receiver: Receiver) -> None:
    token = sign_in(client)
    urls = make_order()["merchant_urls"] | {"push": receiver.url + "/push?id={checkout.order.id}"}
    order_id = completed_order(client, merchant_urls=urls)
    done(act(client, token, order_id, "push"), order_id, "push")
    moved = client.post("/_sandbox/clock/advance", json={"seconds": 0})
    assert moved.json()["attempted"] == 1  # the resent push; the first is due in 2 minutes
    assert [call.path for call in receiver.calls("/push")] == [f"/push?id={order_id}"]
    done(act(client, token, order_id, "acknowledge"), order_id, "acknowledge")
    refused = act(client, token, order_id, "push")
    assert refused.status_code == 403
    assert "pushes stop once an order is acknowledged" in refused.text
    # Acknowledged: the first push, now due, is stopped as the API's acknowledge stops it.
    client.post("/_sandbox/clock/advance", json={"seconds": 300})
    assert len(receiver.calls("/push")) == 1


@pytest.mark.parametrize("decision", ["accept", "reject"])
def test_a_pending_fraud_decision_is_taken_now(
    client: TestClient, receiver: Receiver, decision: str
) -> None:
    token = sign_in(client)
    urls = make_order()["merchant_urls"] | {"notification": receiver.url + "/notify"}
    # The persona would be accepted in 30 minutes: rejecting overrides it, accepting hastens it.
    order_id = completed_order(client, "anna+pend-accept-30@example.com", merchant_urls=urls)
    assert om(client, order_id)["fraud_status"] == "PENDING"
    assert {"accept", "reject"} <= offered(client, order_id)
    assert "capture" not in offered(client, order_id)
    done(act(client, token, order_id, decision), order_id, decision)
    after = om(client, order_id)
    expected = "ACCEPTED" if decision == "accept" else "REJECTED"
    assert after["fraud_status"] == expected
    assert after["status"] == ("AUTHORIZED" if decision == "accept" else "CANCELLED")
    client.post("/_sandbox/clock/advance", json={"seconds": 0})
    sent = [call.json() for call in receiver.calls("/notify")]
    assert sent == [{"order_id": order_id, "event_type": f"FRAUD_RISK_{expected}"}]
    # The notification of the persona's own decision is not sent later on top.
    client.post("/_sandbox/clock/advance", json={"seconds": 3600})
    assert len(receiver.calls("/notify")) == 1
    assert not {"accept", "reject"} & offered(client, order_id)
    again = act(client, token, order_id, decision)
    assert again.status_code == 403
    assert "not pending a fraud decision" in again.text


def test_another_merchants_order_is_not_found(client: TestClient) -> None:
    order_id = completed_order(client)
    token = sign_in(client, OTHER_MERCHANT)
    for action in ("capture", "cancel", "push", "accept"):
        assert act(client, token, order_id, action, amount="").status_code == 404
    assert act(client, token, order_id, "no-such-action").status_code == 404
    assert om(client, order_id)["status"] == "AUTHORIZED"


def test_an_incomplete_order_offers_no_actions(client: TestClient) -> None:
    token = sign_in(client)
    created = client.post(ORDERS, json=make_order()).json()
    order_id = created["order_id"]
    assert offered(client, order_id) == set()
    assert act(client, token, order_id, "capture", amount="").status_code == 404


def _clock(client: TestClient, merchant: Any) -> float:
    answer = client.get("/_sandbox/clock", auth=(merchant.merchant_id, merchant.api_key))
    offset: float = answer.json()["offset_seconds"]
    return offset


def test_the_sandbox_page_moves_only_this_merchants_clock(client: TestClient) -> None:
    token = sign_in(client)
    page = client.get("/portal/sandbox")
    assert page.status_code == 200
    for label in ("Advance 1 hour", "Advance 1 day", "Advance 28 days"):
        assert label in page.text
    moved = client.post(
        "/portal/sandbox/clock",
        data={"csrf_token": token, "seconds": "86400"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert _clock(client, MERCHANT) == 86400
    assert _clock(client, OTHER_MERCHANT) == 0
    custom = {"csrf_token": token, "amount": "1.5", "unit": "hours"}
    assert client.post("/portal/sandbox/clock", data=custom).status_code == 200
    assert _clock(client, MERCHANT) == 86400 + 5400
    too_far = {"csrf_token": token, "amount": "401", "unit": "days"}
    refused = client.post("/portal/sandbox/clock", data=too_far)
    assert refused.status_code == 400
    assert "one advance is at most 400 days" in refused.text
    nonsense = client.post("/portal/sandbox/clock", data=custom | {"amount": "-1"})
    assert nonsense.status_code == 400
    assert "not a number of hours" in nonsense.text
    forged = client.post("/portal/sandbox/clock", data={"seconds": "3600"})
    assert forged.status_code == 403
    assert _clock(client, MERCHANT) == 86400 + 5400


def test_faults_are_set_and_cleared_from_the_sandbox_page(client: TestClient) -> None:
    token = sign_in(client)
    wanted = {"drop": "2", "timeout": "", "duplicate": "1", "delay_ms": "50"}
    answer = client.post(
        "/portal/sandbox/faults", data={"csrf_token": token, **wanted}, follow_redirects=False
    )
    assert answer.status_code == 303
    faults = client.get("/_sandbox/callbacks/faults").json()
    assert faults == {"drop": 2, "timeout": 0, "duplicate": 1, "delay_ms": 50}
    other = client.get(
        "/_sandbox/callbacks/faults", auth=(OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    )
    assert other.json() == {"drop": 0, "timeout": 0, "duplicate": 0, "delay_ms": 0}
    assert "Faults on" in client.get("/portal/sandbox").text
    bad = client.post("/portal/sandbox/faults", data={"csrf_token": token, "drop": "many"})
    assert bad.status_code == 400
    assert "not a whole number" in bad.text
    too_long = client.post(
        "/portal/sandbox/faults", data={"csrf_token": token, "delay_ms": "999999999"}
    )
    assert too_long.status_code == 400
    assert "delay_ms" in too_long.text
    cleared = client.post("/portal/sandbox/faults/clear", data={"csrf_token": token})
    assert cleared.status_code == 200
    assert client.get("/_sandbox/callbacks/faults").json()["drop"] == 0
    assert "No faults" in cleared.text


def test_the_sandbox_page_lists_open_checkouts_and_personas(client: TestClient) -> None:
    sign_in(client)
    open_id = client.post(ORDERS, json=make_order(merchant_reference1="R-77")).json()["order_id"]
    completed = completed_order(client)
    other = client.post(
        ORDERS,
        json=make_order(purchase_country="DE", purchase_currency="EUR", locale="de-DE"),
        auth=(OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key),
    )
    assert other.status_code == 201, other.text
    page = client.get("/portal/sandbox").text
    assert f'href="/kco/checkout/{open_id}" target="_blank"' in page
    assert "Complete as a shopper" in page
    assert "R-77" in page
    assert "500.00 SEK" in page
    assert completed not in page
    assert other.json()["order_id"] not in page
    for email in ("anna+denied@example.com", "anna+pend-reject-05@example.com"):
        assert email in page
    assert "999999" in page  # the sign-up step's refused code, from the persona module


def test_the_sandbox_page_is_paged(client: TestClient, clock: FrozenClock) -> None:
    sign_in(client)
    ids = []
    for _ in range(23):
        ids.append(client.post(ORDERS, json=make_order()).json()["order_id"])
        clock.advance(timedelta(seconds=1))
    first = client.get("/portal/sandbox").text
    assert ids[-1] in first
    assert ids[0] not in first
    later = re.search(r'href="(/portal/sandbox\?before=[^"#]+)', first)
    assert later is not None
    second = client.get(later.group(1).replace("&amp;", "&")).text
    assert ids[0] in second
    assert ids[-1] not in second


def test_with_the_sandbox_api_off_the_page_is_not_there(
    store: Store, clock: FrozenClock, settings: Settings
) -> None:
    off = replace(settings, sandbox_api=False)
    store.merchants.put(MERCHANT, clock.now())
    app = create_app(off, store, clock, [MERCHANT])
    with TestClient(app, base_url=BASE_URL) as client:
        token = sign_in(client)
        assert client.get("/portal/sandbox").status_code == 404
        post = client.post("/portal/sandbox/clock", data={"csrf_token": token, "seconds": "60"})
        assert post.status_code == 404
        assert 'href="/portal/sandbox"' not in client.get("/portal/orders").text
