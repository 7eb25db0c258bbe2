"""The webhooks sandbox API and the deliveries it leads to, on both engines, to a real receiver.

Destinations are managed through `/_sandbox/webhooks`; an order opened, a capture and a refund
(through the API, auto-capture or the portal), and the sandbox's disputes are events, queued with
the write that made them and delivered through the outbox, signed per destination. Signatures are
checked with `tests/webhook_support.py`, written from the documented algorithm, not our signer.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.conftest import BASE_URL
from tests.factories import OTHER_MERCHANT, make_order
from tests.receiver import Receiver, Reply
from tests.webhook_support import event, header, signatures, verify

HOOKS = "/_sandbox/webhooks"
OM = "/ordermanagement/v1/orders"


def create(client: TestClient, url: str, events: list[str] | None = None, **extra: Any) -> Any:
    body = {"name": "My shop", "url": url, "events": events or ["*"], **extra}
    answer = client.post(HOOKS, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def completed(client: TestClient, receiver: Receiver, **order: Any) -> str:
    urls = make_order()["merchant_urls"] | {"push": receiver.url + "/push"}
    created = client.post("/checkout/v3/orders", json=make_order(merchant_urls=urls, **order))
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={"email": "c@example.com"})
    assert done.status_code == 200, done.text
    return order_id


def deliver(client: TestClient, seconds: float = 0) -> int:
    """Move the merchant's clock and deliver what fell due; the attempts made."""
    answer = client.post("/_sandbox/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 200, answer.text
    attempted: int = answer.json()["attempted"]
    return attempted


def assert_error(answer: Any, status: int, code: str, message: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error_code"] == code
    assert answer.json()["correlation_id"]
    if message is not None:
        assert answer.json()["error_messages"] == [message]


# Managing destinations


def test_create_answers_201_with_the_secret_and_an_absolute_location(client: TestClient) -> None:
    answer = client.post(
        HOOKS,
        json={"name": "Shop", "url": "https://shop.example/hooks", "events": ["capture.created"]},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert answer.headers["Location"] == f"{BASE_URL}{HOOKS}/{body['id']}"
    assert body["name"] == "Shop"
    assert body["url"] == "https://shop.example/hooks"
    assert body["events"] == ["capture.created"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", body["signing_secret"])
    assert body["previous_secret_expires_at"] is None
    assert body["created_at"] == "2026-01-01T12:00:00.000Z"
    assert client.get(answer.headers["Location"]).json() == body
    assert client.get(HOOKS).json() == {"webhooks": [body]}


def test_each_secret_is_new(client: TestClient) -> None:
    first = create(client, "https://shop.example/a")
    second = create(client, "https://shop.example/b")
    assert first["signing_secret"] != second["signing_secret"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://shop.example/", "events": ["*"]}, "name"),
        ({"name": "", "url": "https://shop.example/", "events": ["*"]}, "name"),
        ({"name": "x" * 101, "url": "https://shop.example/", "events": ["*"]}, "name"),
        ({"name": "n", "events": ["*"]}, "url"),
        ({"name": "n", "url": "shop.example/hooks", "events": ["*"]}, "url"),
        ({"name": "n", "url": "ftp://shop.example/", "events": ["*"]}, "url"),
        ({"name": "n", "url": "https://shop.example/"}, "events"),
        ({"name": "n", "url": "https://shop.example/", "events": []}, "events"),
        ({"name": "n", "url": "https://shop.example/", "events": ["order.updated"]}, "events"),
        ({"name": "n", "url": "https://shop.example/", "events": "order.created"}, "events"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    answer = client.post(HOOKS, json=body)
    assert_error(answer, 400, "BAD_VALUE")
    assert answer.json()["error_messages"][0].startswith(f"Bad value: {field}")
    assert client.get(HOOKS).json() == {"webhooks": []}


def test_malformed_json_is_a_400(client: TestClient) -> None:
    answer = client.post(HOOKS, content=b"{", headers={"Content-Type": "application/json"})
    assert_error(answer, 400, "BAD_VALUE")


@pytest.fixture
def few_destinations(settings: Settings) -> Settings:
    return Settings(**{**_fields(settings), "webhook_destinations": 2})


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in Settings.__dataclass_fields__}


def test_a_merchant_has_at_most_the_configured_destinations(
    store: Store, clock: FrozenClock, few_destinations: Settings, merchant_http: Any
) -> None:
    from kco_sandbox.platform import create_app
    from tests.factories import MERCHANT

    for merchant in few_destinations.merchants:
        store.merchants.put(merchant, clock.now())
    app = create_app(
        few_destinations, store, clock, list(few_destinations.merchants), caller=merchant_http
    )
    with TestClient(app, base_url=BASE_URL) as client:
        client.auth = (MERCHANT.merchant_id, MERCHANT.api_key)
        create(client, "https://shop.example/1")
        create(client, "https://shop.example/2")
        answer = client.post(
            HOOKS, json={"name": "n", "url": "https://shop.example/3", "events": ["*"]}
        )
        assert_error(
            answer,
            403,
            "NOT_ALLOWED",
            "A merchant has at most 2 webhook destinations; delete one first",
        )


def test_another_merchants_destination_does_not_exist(client: TestClient) -> None:
    mine = create(client, "https://shop.example/hooks")
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    one = f"{HOOKS}/{mine['id']}"
    assert client.get(HOOKS, auth=other).json() == {"webhooks": []}
    assert_error(client.get(one, auth=other), 404, "NOT_FOUND")
    assert_error(client.delete(one, auth=other), 404, "NOT_FOUND")
    assert_error(client.post(one + "/rotate-secret", auth=other), 404, "NOT_FOUND")
    assert_error(client.post(one + "/test", auth=other), 404, "NOT_FOUND")
    assert client.get(one).status_code == 200


def test_without_credentials_it_is_401(client: TestClient) -> None:
    # The vendor's 401 is its gateway's HTML page, as on every other path.
    assert client.get(HOOKS, auth=("nobody", "wrong")).status_code == 401


def test_delete_answers_204_then_404(client: TestClient) -> None:
    mine = create(client, "https://shop.example/hooks")
    one = f"{HOOKS}/{mine['id']}"
    answer = client.delete(one)
    assert (answer.status_code, answer.content) == (204, b"")
    assert_error(client.get(one), 404, "NOT_FOUND")
    assert_error(client.delete(one), 404, "NOT_FOUND")
    assert_error(client.get(f"{HOOKS}/no%00such"), 404, "NOT_FOUND")


def test_rotation_gives_a_new_secret_and_says_until_when_the_old_one_signs(
    client: TestClient,
) -> None:
    mine = create(client, "https://shop.example/hooks")
    rotated = client.post(f"{HOOKS}/{mine['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["signing_secret"] != mine["signing_secret"]
    assert body["previous_secret_expires_at"] == "2026-01-01T12:10:00.000Z"
    assert client.get(f"{HOOKS}/{mine['id']}").json() == body


# Deliveries


def test_a_capture_is_delivered_signed_to_each_listening_destination(
    client: TestClient, receiver: Receiver, clock: FrozenClock
) -> None:
    everything = create(client, receiver.url + "/all")
    captures = create(client, receiver.url + "/captures", ["capture.created"])
    create(client, receiver.url + "/refunds", ["refund.created"])
    order_id = completed(client, receiver)
    captured = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 50000})
    assert captured.status_code == 201, captured.text
    capture_id = captured.headers["Capture-Id"]
    assert deliver(client) == 3  # order.created to /all; capture.created to /all and /captures
    assert receiver.calls("/refunds") == []
    # Events due at the same moment go out in no particular order (as the vendor's).
    [created, capture_to_all] = sorted(
        receiver.calls("/all"), key=lambda r: event(r)["type"] != "order.created"
    )
    [capture_to_one] = receiver.calls("/captures")
    assert event(created)["type"] == "order.created"
    assert event(created)["data"] == {"order_id": order_id}
    for received, destination in (
        (created, everything),
        (capture_to_all, everything),
        (capture_to_one, captures),
    ):
        assert received.method == "POST"
        assert verify(received, destination["signing_secret"], clock.now().timestamp())
        assert header(received, "webhook-id") == event(received)["id"]
        assert received.headers["Content-Type"] == "application/json"
    payload = event(capture_to_one)
    assert payload["type"] == "capture.created"
    assert payload["merchant_id"] == "PK0001_test"
    assert payload["data"] == {"order_id": order_id, "capture_id": capture_id}
    assert re.fullmatch(r"kevt_[0-9A-Za-z]{22}", payload["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", payload["timestamp"])
    # One event, one id, for every destination; its signature is each destination's own.
    assert event(capture_to_all)["id"] == payload["id"]
    assert capture_to_all.body == capture_to_one.body
    assert not verify(capture_to_one, everything["signing_secret"])


def test_refunds_auto_captures_and_portal_captures_are_events(
    client: TestClient, receiver: Receiver
) -> None:
    create(client, receiver.url + "/hooks", ["capture.created", "refund.created"])
    auto = completed(client, receiver, options={"auto_capture": True})
    refunded = client.post(f"{OM}/{auto}/refunds", json={"refunded_amount": 100})
    assert refunded.status_code == 201, refunded.text
    deliver(client)
    received = sorted((event(r) for r in receiver.calls("/hooks")), key=lambda e: e["type"])
    assert [(e["type"], e["data"]["order_id"]) for e in received] == [
        ("capture.created", auto),
        ("refund.created", auto),
    ]
    assert received[1]["data"]["refund_id"] == refunded.headers["Refund-Id"]


def test_every_attempt_shows_in_the_orders_timeline(client: TestClient, receiver: Receiver) -> None:
    create(client, receiver.url + "/hooks", ["order.created"])
    order_id = completed(client, receiver)
    deliver(client)
    events = client.get(f"/_sandbox/orders/{order_id}/events").json()["events"]
    [attempt] = [e for e in events if e["kind"] == "webhook.attempt"]
    assert attempt["url"] == receiver.url + "/hooks"
    assert attempt["status"] == 200


def test_retried_on_500_and_stopped_by_410(client: TestClient, receiver: Receiver) -> None:
    mine = create(client, receiver.url + "/hooks")
    receiver.on("/hooks", Reply(status=500))
    sent = client.post(f"{HOOKS}/{mine['id']}/test")
    assert sent.status_code == 202, sent.text
    assert deliver(client) == 1
    assert deliver(client, 4) == 0  # the first retry is 5 s after the first attempt
    assert deliver(client, 1) == 1
    receiver.on("/hooks", Reply(status=410))
    assert deliver(client, 300) == 1
    assert deliver(client, 400 * 3600) == 0  # stopped: no more retries
    calls = receiver.calls("/hooks")
    assert len(calls) == 3
    # The same event each time (its id is the `webhook-id`), signed anew at each attempt.
    assert len({header(c, "webhook-id") for c in calls}) == 1
    assert len({c.body for c in calls}) == 1
    stamps = [int(header(c, "webhook-timestamp")) for c in calls]
    assert stamps[1] - stamps[0] == 5
    assert stamps[2] - stamps[1] == 300
    assert all(verify(c, mine["signing_secret"]) for c in calls)


def test_the_test_event_goes_to_that_destination_alone(
    client: TestClient, receiver: Receiver
) -> None:
    mine = create(client, receiver.url + "/mine", ["refund.created"])
    create(client, receiver.url + "/other")
    sent = client.post(f"{HOOKS}/{mine['id']}/test")
    assert sent.status_code == 202, sent.text
    deliver(client)
    assert receiver.calls("/other") == []
    [received] = receiver.calls("/mine")
    payload = event(received)
    assert payload["type"] == "webhook.test" == sent.json()["type"]
    assert payload["id"] == sent.json()["event_id"]
    assert payload["data"] == {"destination_id": mine["id"]}
    assert verify(received, mine["signing_secret"])


def test_the_old_secret_signs_too_until_the_window_ends(
    client: TestClient, receiver: Receiver
) -> None:
    mine = create(client, receiver.url + "/hooks")
    rotated = client.post(f"{HOOKS}/{mine['id']}/rotate-secret").json()
    client.post(f"{HOOKS}/{mine['id']}/test")
    deliver(client)
    client.post(f"{HOOKS}/{mine['id']}/test")
    deliver(client, 599)
    client.post(f"{HOOKS}/{mine['id']}/test")
    deliver(client, 1)
    within, last_second, after = receiver.calls("/hooks")
    for received in (within, last_second):
        assert len(signatures(received)) == 2
        assert verify(received, rotated["signing_secret"])
        assert verify(received, mine["signing_secret"])
    assert len(signatures(after)) == 1
    assert verify(after, rotated["signing_secret"])
    assert not verify(after, mine["signing_secret"])


def test_a_deleted_destinations_deliveries_stop_unsent(
    client: TestClient, receiver: Receiver
) -> None:
    mine = create(client, receiver.url + "/hooks")
    client.post(f"{HOOKS}/{mine['id']}/test")
    assert client.delete(f"{HOOKS}/{mine['id']}").status_code == 204
    assert deliver(client) == 0
    assert receiver.calls("/hooks") == []


def test_nothing_is_sent_for_a_refused_capture(client: TestClient, receiver: Receiver) -> None:
    create(client, receiver.url + "/hooks", ["capture.created"])
    order_id = completed(client, receiver)
    too_much = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 50001})
    assert too_much.status_code == 403, too_much.text
    deliver(client)
    assert receiver.calls("/hooks") == []


# Disputes (a sandbox extension)


def test_disputes_are_opened_and_moved_with_events(client: TestClient, receiver: Receiver) -> None:
    create(client, receiver.url + "/hooks", ["dispute.created", "dispute.updated"])
    order_id = completed(client, receiver)
    opened = client.post(f"/_sandbox/orders/{order_id}/disputes")
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert dispute["status"] == "needs_response"
    location = opened.headers["Location"]
    assert location == f"{BASE_URL}/_sandbox/orders/{order_id}/disputes/{dispute['dispute_id']}"
    moved = client.post(location, json={"status": "under_review"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "under_review"
    assert client.get(location).json() == moved.json()
    listed = client.get(f"/_sandbox/orders/{order_id}/disputes").json()
    assert listed == {"disputes": [moved.json()]}
    assert_error(client.post(location, json={"status": "sideways"}), 400, "BAD_VALUE")
    deliver(client)
    received = sorted((event(r) for r in receiver.calls("/hooks")), key=lambda e: e["type"])
    assert [(e["type"], e["data"]) for e in received] == [
        ("dispute.created", {"order_id": order_id, "dispute_id": dispute["dispute_id"]}),
        ("dispute.updated", {"order_id": order_id, "dispute_id": dispute["dispute_id"]}),
    ]


def test_disputes_on_unknown_or_foreign_orders_are_404(
    client: TestClient, receiver: Receiver
) -> None:
    order_id = completed(client, receiver)
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    assert_error(
        client.post(f"/_sandbox/orders/{order_id}/disputes", auth=other), 404, "NO_SUCH_ORDER"
    )
    assert_error(client.post("/_sandbox/orders/nope/disputes"), 404, "NO_SUCH_ORDER")
    assert_error(
        client.post(f"/_sandbox/orders/{order_id}/disputes/nope", json={"status": "won"}),
        404,
        "NOT_FOUND",
    )


def test_a_capture_made_in_the_portal_is_an_event(client: TestClient, receiver: Receiver) -> None:
    from tests.api.test_portal_actions import act, sign_in

    create(client, receiver.url + "/hooks", ["capture.created"])
    order_id = completed(client, receiver)
    token = sign_in(client)
    answer = act(client, token, order_id, "capture", amount="100.00")
    assert answer.status_code == 303, answer.text
    deliver(client)
    [received] = receiver.calls("/hooks")
    assert event(received)["type"] == "capture.created"
    assert event(received)["data"]["order_id"] == order_id


def test_a_customer_token_charge_is_an_order_created(
    client: TestClient, receiver: Receiver
) -> None:
    from tests.api.test_customer_tokens import TOKENS, mint, token_order

    token = mint(client)
    create(client, receiver.url + "/hooks", ["order.created"])
    charged = client.post(f"{TOKENS}/{token}/order", json=token_order())
    assert charged.status_code == 200, charged.text
    deliver(client)
    [received] = receiver.calls("/hooks")
    assert event(received)["data"] == {"order_id": charged.json()["order_id"]}
