"""Order Management through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from tests.conftest import BASE_URL
from tests.factories import OTHER_MERCHANT, make_line, make_order

OM = "/ordermanagement/v1/orders"
LINES = [make_line()]  # 5 x 10000 incl. 10 % tax: 50000, tax 4545


def completed(client: TestClient, email: str = "c@example.com", **order: Any) -> str:
    created = client.post("/checkout/v3/orders", json=make_order(**order))
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={"email": email})
    assert done.status_code == 200, done.text
    return order_id


def om(client: TestClient, order_id: str) -> dict[str, Any]:
    response = client.get(f"{OM}/{order_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def capture(client: TestClient, order_id: str, amount: int, **extra: Any) -> Any:
    return client.post(f"{OM}/{order_id}/captures", json={"captured_amount": amount, **extra})


def refund(client: TestClient, order_id: str, amount: int, **extra: Any) -> Any:
    return client.post(f"{OM}/{order_id}/refunds", json={"refunded_amount": amount, **extra})


def assert_error(response: Any, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    if message is not None:
        assert response.json()["error_messages"] == [message]


def test_a_completed_checkout_opens_an_authorized_order(client: TestClient) -> None:
    order_id = completed(client)
    order = om(client, order_id)
    assert order["order_id"] == order_id
    assert order["status"] == "AUTHORIZED"
    assert order["fraud_status"] == "ACCEPTED"
    assert order["order_amount"] == order["original_order_amount"] == 50000
    assert (order["captured_amount"], order["refunded_amount"]) == (0, 0)
    assert order["remaining_authorized_amount"] == 50000
    assert order["purchase_country"] == "SE"
    assert order["purchase_currency"] == "SEK"
    assert len(order["klarna_reference"]) == 7
    assert order["klarna_reference"].isupper() or order["klarna_reference"].isalnum()
    assert order["created_at"] == "2026-01-01T12:00:00.000Z"
    assert order["expires_at"] == "2026-01-29T12:00:00.000Z"
    assert order["captures"] == order["refunds"] == []
    assert order["initial_payment_method"] == {"type": "INVOICE", "description": "Pay later"}
    assert order["billing_address"]["country"] == "SE"
    assert order["billing_address"]["street_address2"] == ""
    assert order["order_lines"][0]["quantity_unit"] == "pcs"
    assert order["customer"] == {"type": "person", "date_of_birth": "1941-03-21"}


def test_capture_answers_201_with_location_and_capture_id(client: TestClient) -> None:
    order_id = completed(client)
    response = capture(
        client,
        order_id,
        20000,
        description="first box",
        order_lines=[make_line(quantity=2, total_amount=20000, total_tax_amount=1818)],
    )
    assert response.status_code == 201
    assert response.content == b""
    capture_id = response.headers["capture-id"]
    uuid.UUID(capture_id)
    assert response.headers["location"] == f"{BASE_URL}{OM}/{order_id}/captures/{capture_id}"
    order = om(client, order_id)
    assert order["status"] == "PART_CAPTURED"
    assert (order["captured_amount"], order["remaining_authorized_amount"]) == (20000, 30000)
    [stored] = order["captures"]
    assert stored["klarna_reference"] == order["klarna_reference"] + "-1"
    assert stored["description"] == "first box"
    assert stored["captured_at"] == "2026-01-01T12:00:00.000Z"
    assert client.get(response.headers["location"]).json() == stored
    assert client.get(f"{OM}/{order_id}/captures").json() == [stored]
    second = capture(client, order_id, 30000)
    assert second.status_code == 201
    order = om(client, order_id)
    assert order["status"] == "CAPTURED"
    assert order["captures"][1]["klarna_reference"].endswith("-2")
    assert order["remaining_authorized_amount"] == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (
            50001,
            "Captured amount is higher than the remaining authorized amount. Capture not possible.",
        ),
        (0, "Captured amount must be greater than 0. Capture not possible."),
    ],
)
def test_capture_amount_rules(client: TestClient, amount: int, message: str) -> None:
    order_id = completed(client)
    assert_error(capture(client, order_id, amount), 403, "CAPTURE_NOT_ALLOWED", message)
    assert om(client, order_id)["captures"] == []


def test_capture_lines_must_add_up(client: TestClient) -> None:
    order_id = completed(client)
    assert_error(
        capture(client, order_id, 100, order_lines=LINES),
        400,
        "BAD_VALUE",
        "Bad value: captured_amount",
    )
    broken = [make_line(total_amount=1)]
    assert_error(
        capture(client, order_id, 1, order_lines=broken),
        400,
        "BAD_VALUE",
        "Bad value: order_lines[0].total_amount",
    )
    not_a_number = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": "all"})
    assert_error(not_a_number, 400, "BAD_VALUE", "Bad value: captured_amount")
    assert_error(
        client.post(f"{OM}/{order_id}/captures", json={}),
        400,
        "BAD_VALUE",
        "Bad value: captured_amount (may not be null)",
    )


def test_cancel_only_without_captures(client: TestClient) -> None:
    order_id = completed(client)
    assert client.post(f"{OM}/{order_id}/cancel").status_code == 204
    order = om(client, order_id)
    # As recorded from the vendor: a cancelled order still shows what was left to capture.
    assert (order["status"], order["remaining_authorized_amount"]) == ("CANCELLED", 50000)
    assert_error(
        capture(client, order_id, 1),
        403,
        "CAPTURE_NOT_ALLOWED",
        "Order is cancelled. Capture not possible.",
    )
    assert_error(
        client.patch(f"{OM}/{order_id}/merchant-references", json={"merchant_reference1": "x"}),
        403,
        "NOT_ALLOWED",
        "Order is cancelled. Merchant references cannot be updated.",
    )
    captured = completed(client)
    capture(client, captured, 100)
    assert_error(
        client.post(f"{OM}/{captured}/cancel"),
        403,
        "CANCEL_NOT_ALLOWED",
        "Order has previous captures. Cancel not possible.",
    )


def test_refunds(client: TestClient) -> None:
    order_id = completed(client)
    assert_error(
        refund(client, order_id, 100),
        403,
        "REFUND_NOT_ALLOWED",
        "Order has no captures. Refund not possible.",
    )
    capture(client, order_id, 50000)
    assert_error(
        refund(client, order_id, 50001),
        403,
        "REFUND_NOT_ALLOWED",
        "Refunded amount is higher than the captured amount. Refund not possible.",
    )
    first = refund(client, order_id, 10000, description="returned one")
    assert first.status_code == 201
    assert first.content == b""
    refund_id = first.headers["refund-id"]
    assert first.headers["location"] == f"{BASE_URL}{OM}/{order_id}/refunds/{refund_id}"
    read = client.get(first.headers["location"]).json()
    assert (read["refund_id"], read["refunded_amount"], read["description"]) == (
        refund_id,
        10000,
        "returned one",
    )
    assert refund(client, order_id, 40000).status_code == 201
    order = om(client, order_id)
    # As recorded from the vendor: a fully refunded capture still reads CAPTURED.
    assert (order["status"], order["refunded_amount"]) == ("CAPTURED", 50000)
    assert order["captures"][0]["refunded_amount"] == 0  # not attributed, as recorded
    missing = str(uuid.uuid4())
    assert_error(
        client.get(f"{OM}/{order_id}/refunds/{missing}"),
        404,
        "NOT_FOUND",
        f"Refund {missing} cannot be found for order {order_id}",
    )


def test_release_remaining_authorization(client: TestClient) -> None:
    order_id = completed(client)
    assert_error(
        client.post(f"{OM}/{order_id}/release-remaining-authorization"),
        403,
        "NOT_ALLOWED",
        "Order has no captures. Remaining authorization cannot be released.",
    )
    capture(client, order_id, 10000)
    assert client.post(f"{OM}/{order_id}/release-remaining-authorization").status_code == 204
    order = om(client, order_id)
    assert (order["status"], order["remaining_authorized_amount"]) == ("CAPTURED", 0)
    assert_error(
        client.post(f"{OM}/{order_id}/release-remaining-authorization"),
        403,
        "NOT_ALLOWED",
        "Order is fully captured. Remaining authorization cannot be released.",
    )


def test_update_authorization(client: TestClient) -> None:
    order_id = completed(client)
    capture(client, order_id, 20000)
    assert_error(
        client.patch(f"{OM}/{order_id}/authorization", json={"order_amount": 10000}),
        403,
        "NOT_ALLOWED",
        "Resulting authorization amount 10000 cannot be less than the captured amount "
        "20000 for order. Order authorization cannot be updated",
    )
    lines = [make_line(quantity=3, total_amount=30000, total_tax_amount=2727)]
    response = client.patch(
        f"{OM}/{order_id}/authorization", json={"order_amount": 30000, "order_lines": lines}
    )
    assert response.status_code == 204
    order = om(client, order_id)
    assert (order["order_amount"], order["original_order_amount"]) == (30000, 50000)
    assert order["remaining_authorized_amount"] == 10000
    assert order["order_lines"][0]["quantity"] == 3


def test_customer_details_only_shipping(client: TestClient) -> None:
    order_id = completed(client)
    response = client.patch(
        f"{OM}/{order_id}/customer-details",
        json={"shipping_address": {"street_address": "Nygatan 3"}},
    )
    assert response.status_code == 204
    order = om(client, order_id)
    assert order["shipping_address"]["street_address"] == "Nygatan 3"
    assert order["shipping_address"]["given_name"] == "Testperson-se"
    assert_error(
        client.patch(f"{OM}/{order_id}/customer-details", json={"billing_address": {"city": "X"}}),
        403,
        "NOT_ALLOWED",
    )
    too_long = {"shipping_address": {"postal_code": "12345678901"}}
    assert_error(
        client.patch(f"{OM}/{order_id}/customer-details", json=too_long),
        400,
        "BAD_VALUE",
        "Bad value: shipping_address.postal_code",
    )


def test_merchant_references_and_shipping_info(client: TestClient) -> None:
    order_id = completed(client)
    refs = {"merchant_reference1": "1001", "merchant_reference2": "B"}
    assert client.patch(f"{OM}/{order_id}/merchant-references", json=refs).status_code == 204
    info = {
        "shipping_info": [
            {"shipping_company": "PostNord", "tracking_number": "123", "shipping_method": "Home"}
        ]
    }
    assert client.post(f"{OM}/{order_id}/shipping-info", json=info).status_code == 204
    order = om(client, order_id)
    assert (order["merchant_reference1"], order["merchant_reference2"]) == ("1001", "B")
    assert order["shipping_info"] == info["shipping_info"]
    bad = {"shipping_info": [{"shipping_method": "Teleport"}]}
    assert_error(
        client.post(f"{OM}/{order_id}/shipping-info", json=bad),
        400,
        "BAD_VALUE",
        "Bad value: shipping_info[0].shipping_method",
    )


def test_capture_level_operations(client: TestClient) -> None:
    order_id = completed(client)
    capture_id = capture(client, order_id, 50000).headers["capture-id"]
    base = f"{OM}/{order_id}/captures/{capture_id}"
    info = {"shipping_info": [{"shipping_company": "DHL", "tracking_number": "9"}]}
    assert client.post(base + "/shipping-info", json=info).status_code == 204
    assert client.get(base).json()["shipping_info"] == info["shipping_info"]
    assert client.post(base + "/trigger-send-out").status_code == 204
    options = client.get(base + "/extend-due-date-options").json()
    assert options == {
        "currency": "sek",
        "options": [
            {"number_of_days": 14, "amount": 295},
            {"number_of_days": 30, "amount": 495},
        ],
    }
    assert client.patch(base + "/extend-due-date", json={"number_of_days": 14}).status_code == 204
    assert_error(
        client.patch(base + "/extend-due-date", json={"number_of_days": 14}),
        403,
        "NOT_ALLOWED",
        "Extension of due date is not possible.",
    )
    missing = f"{OM}/{order_id}/captures/{uuid.uuid4()}"
    for response in (client.get(missing), client.post(missing + "/trigger-send-out")):
        assert_error(response, 404, "NO_SUCH_CAPTURE")


def test_expiry_and_extension(client: TestClient, clock: FrozenClock) -> None:
    order_id = completed(client)
    clock.advance(timedelta(days=20))
    assert client.post(f"{OM}/{order_id}/extend-authorization-time").status_code == 204
    assert om(client, order_id)["expires_at"] == "2026-02-18T12:00:00.000Z"  # 28 days from now
    clock.advance(timedelta(days=50))  # day 70
    assert client.post(f"{OM}/{order_id}/extend-authorization-time").status_code == 403
    expired = completed(client)
    clock.advance(timedelta(days=28))
    order = om(client, expired)
    assert (order["status"], order["remaining_authorized_amount"]) == ("EXPIRED", 0)
    assert_error(
        capture(client, expired, 100),
        403,
        "CAPTURE_NOT_ALLOWED",
        f"Order {expired} is expired. Capture not possible.",
    )


def test_extension_never_beyond_90_days(client: TestClient, clock: FrozenClock) -> None:
    order_id = completed(client)
    for _ in range(3):
        clock.advance(timedelta(days=27))
        assert client.post(f"{OM}/{order_id}/extend-authorization-time").status_code == 204
    assert om(client, order_id)["expires_at"] == "2026-04-01T12:00:00.000Z"  # purchase + 90 days
    assert_error(client.post(f"{OM}/{order_id}/extend-authorization-time"), 403, "NOT_ALLOWED")


@pytest.mark.parametrize(
    ("tag", "final", "status"),
    [
        ("pend-accept-05", "ACCEPTED", "AUTHORIZED"),
        ("pend-reject-05", "REJECTED", "CANCELLED"),
    ],
)
def test_pending_orders_cannot_be_captured_until_decided(
    client: TestClient, clock: FrozenClock, tag: str, final: str, status: str
) -> None:
    order_id = completed(client, email=f"p+{tag}@example.com")
    assert om(client, order_id)["fraud_status"] == "PENDING"
    assert_error(
        capture(client, order_id, 100),
        403,
        "CAPTURE_NOT_ALLOWED",
        "Order is pending a fraud decision. Capture not possible.",
    )
    clock.advance(timedelta(minutes=5))
    order = om(client, order_id)
    assert (order["fraud_status"], order["status"]) == (final, status)


def test_auto_capture_captures_everything_at_completion(client: TestClient) -> None:
    order_id = completed(client, options={"auto_capture": True})
    order = om(client, order_id)
    assert (order["status"], order["captured_amount"]) == ("CAPTURED", 50000)


def test_acknowledge_is_idempotent(client: TestClient) -> None:
    order_id = completed(client)
    for _ in range(2):
        response = client.post(f"{OM}/{order_id}/acknowledge")
        assert response.status_code == 204
        assert response.content == b""


def test_an_idempotency_key_replays_the_first_answer(client: TestClient) -> None:
    order_id = completed(client)
    key = {"Klarna-Idempotency-Key": str(uuid.uuid4())}
    first = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 100}, headers=key)
    again = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 999}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["capture-id"] == first.headers["capture-id"]
    assert again.headers["location"] == first.headers["location"]
    assert om(client, order_id)["captured_amount"] == 100
    other_key = {"Klarna-Idempotency-Key": str(uuid.uuid4())}
    assert (
        client.post(
            f"{OM}/{order_id}/captures", json={"captured_amount": 999}, headers=other_key
        ).status_code
        == 201
    )
    assert om(client, order_id)["captured_amount"] == 1099


def with_key(key: str) -> dict[str, str]:
    return {"Klarna-Idempotency-Key": key}


def test_a_repeat_of_a_capture_that_took_the_whole_authorization_replays_it(
    client: TestClient,
) -> None:
    """The stored answer comes before the rules: run again, this capture would be refused."""
    order_id = completed(client)
    key = with_key(str(uuid.uuid4()))
    first = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 50000}, headers=key)
    assert first.status_code == 201, first.text
    for body in ({"captured_amount": 50000}, {"captured_amount": 1}):
        again = client.post(f"{OM}/{order_id}/captures", json=body, headers=key)
        assert again.status_code == 201, again.text
        assert again.content == b""
        assert again.headers["capture-id"] == first.headers["capture-id"]
        assert again.headers["location"] == first.headers["location"]
    order = om(client, order_id)
    assert [c["capture_id"] for c in order["captures"]] == [first.headers["capture-id"]]
    assert_error(capture(client, order_id, 1), 403, "CAPTURE_NOT_ALLOWED")


def test_repeats_of_a_whole_refund_and_of_a_cancel_replay_them(client: TestClient) -> None:
    order_id = completed(client)
    capture(client, order_id, 50000)
    key = with_key(str(uuid.uuid4()))
    first = client.post(f"{OM}/{order_id}/refunds", json={"refunded_amount": 50000}, headers=key)
    assert first.status_code == 201, first.text
    again = client.post(f"{OM}/{order_id}/refunds", json={"refunded_amount": 50000}, headers=key)
    assert again.status_code == 201, again.text
    assert again.headers["refund-id"] == first.headers["refund-id"]
    assert again.headers["location"] == first.headers["location"]
    assert len(om(client, order_id)["refunds"]) == 1
    cancelled = completed(client)
    key = with_key(str(uuid.uuid4()))
    for _ in range(2):  # a cancel that ran again would be refused: the order is cancelled
        response = client.post(f"{OM}/{cancelled}/cancel", headers=key)
        assert (response.status_code, response.content) == (204, b"")
    assert_error(client.post(f"{OM}/{cancelled}/cancel"), 403, "CANCEL_NOT_ALLOWED")


def test_a_key_answers_only_for_its_own_operation(client: TestClient) -> None:
    """A key is scoped to the operation (and order) it was first used on: the same key on another
    path is a new key, judged on its own (here: a cancel after a capture is refused)."""
    order_id = completed(client)
    key = with_key(str(uuid.uuid4()))
    client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 100}, headers=key)
    again = client.post(f"{OM}/{order_id}/cancel", headers=key)
    assert_error(again, 403, "CANCEL_NOT_ALLOWED")
    assert om(client, order_id)["status"] == "PART_CAPTURED"


DISCOUNT = make_line(
    type="discount",
    name="Rebate",
    reference=None,
    quantity=1,
    unit_price=-1000,
    total_amount=-1000,
    total_tax_amount=-91,
)
# Not `quantity * unit_price`; its tax matches its total, and the amounts sent match the lines.
WRONG_DISCOUNT = DISCOUNT | {"total_amount": -2000, "total_tax_amount": -182}


def test_discount_lines_must_add_up_in_order_management(client: TestClient) -> None:
    order_id = completed(client)
    two = make_line(quantity=2, total_amount=20000, total_tax_amount=1818)
    assert_error(
        capture(client, order_id, 18000, order_lines=[two, WRONG_DISCOUNT]),
        400,
        "BAD_VALUE",
        "Bad value: order_lines[1].total_amount",
    )
    assert_error(
        client.patch(
            f"{OM}/{order_id}/authorization",
            json={"order_amount": 48000, "order_lines": [LINES[0], WRONG_DISCOUNT]},
        ),
        400,
        "BAD_VALUE",
        "Bad value: order_lines[1].total_amount",
    )
    assert om(client, order_id)["captures"] == []
    assert capture(client, order_id, 19000, order_lines=[two, DISCOUNT]).status_code == 201
    assert_error(
        refund(client, order_id, 18000, order_lines=[two, WRONG_DISCOUNT]),
        400,
        "BAD_VALUE",
        "Bad value: order_lines[1].total_amount",
    )
    assert om(client, order_id)["refunds"] == []


def test_unknown_and_foreign_orders(client: TestClient) -> None:
    missing = str(uuid.uuid4())
    assert_error(client.get(f"{OM}/{missing}"), 404, "NO_SUCH_ORDER")
    assert_error(capture(client, missing, 1), 404, "NO_SUCH_ORDER")
    assert_error(refund(client, missing, 1), 404, "NOT_FOUND")  # the OpenAPI file's code here
    refund_id = str(uuid.uuid4())
    assert_error(
        client.get(f"{OM}/{missing}/refunds/{refund_id}"),
        404,
        "NOT_FOUND",
        f"Refund {refund_id} cannot be found for order {missing}",
    )
    order_id = completed(client)
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    assert client.get(f"{OM}/{order_id}", auth=other).status_code == 404
    assert client.post(f"{OM}/{order_id}/cancel", auth=other).status_code == 404
    assert om(client, order_id)["status"] == "AUTHORIZED"
    incomplete = client.post("/checkout/v3/orders", json=make_order()).json()["order_id"]
    assert_error(client.get(f"{OM}/{incomplete}"), 404, "NO_SUCH_ORDER")
