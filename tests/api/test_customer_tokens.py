"""The Customer Token API v1 on both engines: a recurring checkout mints a token; the merchant
reads it, charges it (each charge an Order Management order) and cancels it."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.factories import OTHER_MERCHANT, make_line, make_order

ORDERS = "/checkout/v3/orders"
TOKENS = "/customer-token/v1/tokens"
OM = "/ordermanagement/v1/orders"


def token_line(**overrides: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "type": "digital",
        "reference": "sub-1",
        "name": "Monthly box",
        "quantity": 1,
        "unit_price": 34900,
        "tax_rate": 2500,
        "total_amount": 34900,
        "total_discount_amount": 0,
        "total_tax_amount": 6980,
        "subscription": {"name": "Monthly box", "interval": "MONTH", "interval_count": 1},
    }
    return line | overrides


def token_order(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "locale": "sv-SE",
        "purchase_currency": "SEK",
        "order_amount": 34900,
        "order_tax_amount": 6980,
        "order_lines": [token_line()],
    }
    return body | overrides


def mint(client: TestClient, **complete: Any) -> str:
    """A token, minted by completing a recurring checkout order."""
    created = client.post(ORDERS, json=make_order(recurring=True))
    assert created.status_code == 201, created.text
    order_id = created.json()["order_id"]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json=complete)
    assert done.status_code == 200, done.text
    token: str = client.get(f"{ORDERS}/{order_id}").json()["recurring_token"]
    assert token
    return token


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert isinstance(body["error_messages"], list)
    assert body["correlation_id"]


def test_a_minted_token_reads_active_with_its_method(client: TestClient) -> None:
    invoice = client.get(f"{TOKENS}/{mint(client)}")
    assert invoice.status_code == 200
    assert invoice.json() == {"payment_method_type": "INVOICE", "status": "ACTIVE"}
    card = client.get(f"{TOKENS}/{mint(client, payment_method='card')}").json()
    assert card["payment_method_type"] == "CARD"
    assert set(card["card"]) == {"brand", "expiry_date", "masked_number"}
    assert "direct_debit" not in card


def test_two_charges_open_two_order_management_orders(client: TestClient) -> None:
    token = mint(client)
    first = client.post(f"{TOKENS}/{token}/order", json=token_order())
    assert first.status_code == 200, first.text
    assert first.json()["fraud_status"] == "ACCEPTED"
    assert first.json()["authorized_payment_method"] == {"type": "invoice"}
    assert "redirect_url" not in first.json()
    two_lines = [
        token_line(),
        token_line(
            reference="extra",
            unit_price=1000,
            total_amount=1000,
            total_tax_amount=200,
            subscription=None,
        ),
    ]
    second = client.post(
        f"{TOKENS}/{token}/order",
        json=token_order(
            order_amount=35900,
            order_tax_amount=7180,
            order_lines=two_lines,
            merchant_reference1="renewal-2",
            auto_capture=True,
        ),
    )
    assert second.status_code == 200, second.text
    ids = [first.json()["order_id"], second.json()["order_id"]]
    assert len(set(ids)) == 2
    one = client.get(f"{OM}/{ids[0]}").json()
    assert (one["status"], one["order_amount"], one["captured_amount"]) == ("AUTHORIZED", 34900, 0)
    assert one["order_lines"][0]["subscription"]["interval"] == "MONTH"
    assert one["billing_address"]["email"] == "customer@example.com"
    assert one["purchase_currency"] == "SEK"
    two = client.get(f"{OM}/{ids[1]}").json()
    assert (two["status"], two["order_amount"], two["captured_amount"]) == (
        "CAPTURED",
        35900,
        35900,
    )
    assert two["merchant_reference1"] == "renewal-2"
    assert len(two["captures"]) == 1


def test_a_repeated_idempotency_key_answers_the_first_order(client: TestClient) -> None:
    token = mint(client)
    headers = {"Klarna-Idempotency-Key": "renewal-2026-01"}
    first = client.post(f"{TOKENS}/{token}/order", json=token_order(), headers=headers)
    again = client.post(
        f"{TOKENS}/{token}/order", json=token_order(order_amount=1), headers=headers
    )
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    other = client.post(
        f"{TOKENS}/{token}/order",
        json=token_order(),
        headers={"Klarna-Idempotency-Key": "renewal-2026-02"},
    )
    assert other.json()["order_id"] != first.json()["order_id"]


def test_a_cancelled_token_cannot_be_charged(client: TestClient) -> None:
    token = mint(client)
    cancel = client.patch(f"{TOKENS}/{token}/status", json={"status": "CANCELLED"})
    assert (cancel.status_code, cancel.content) == (202, b"")
    assert client.patch(f"{TOKENS}/{token}/status", json={"status": "CANCELLED"}).status_code == 202
    assert client.get(f"{TOKENS}/{token}").json()["status"] == "CANCELLED"
    assert_error(client.post(f"{TOKENS}/{token}/order", json=token_order()), 403, "TOKEN_CANCELLED")
    assert_error(
        client.patch(f"{TOKENS}/{token}/status", json={"status": "ACTIVE"}), 400, "BAD_VALUE"
    )


def test_a_suspended_token_is_refused_until_reinstated(client: TestClient) -> None:
    token = mint(client)
    control = f"/_sandbox/customer-tokens/{token}"
    assert client.patch(control, json={"status": "SUSPENDED"}).json()["status"] == "SUSPENDED"
    assert_error(client.post(f"{TOKENS}/{token}/order", json=token_order()), 403, "TOKEN_SUSPENDED")
    assert client.patch(control, json={"status": "ACTIVE"}).status_code == 200
    assert client.post(f"{TOKENS}/{token}/order", json=token_order()).status_code == 200


def test_another_merchants_token_is_forbidden(client: TestClient) -> None:
    token = mint(client)
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    charge = client.post(f"{TOKENS}/{token}/order", json=token_order(), auth=other)
    assert_error(charge, 403, "TOKEN_FORBIDDEN")
    assert_error(client.get(f"{TOKENS}/{token}", auth=other), 403, "TOKEN_FORBIDDEN")
    cancel = client.patch(f"{TOKENS}/{token}/status", json={"status": "CANCELLED"}, auth=other)
    assert_error(cancel, 403, "TOKEN_FORBIDDEN")
    assert client.get(f"{TOKENS}/{token}").json()["status"] == "ACTIVE"


def test_an_unknown_token(client: TestClient) -> None:
    unknown = "93c69742-a378-43b7-9ae6-6d457dd4dfc6"
    assert_error(
        client.post(f"{TOKENS}/{unknown}/order", json=token_order()), 404, "TOKEN_NOT_FOUND"
    )
    assert_error(client.get(f"{TOKENS}/{unknown}"), 404, "NOT_FOUND")
    assert_error(
        client.patch(f"{TOKENS}/{unknown}/status", json={"status": "CANCELLED"}), 404, "NOT_FOUND"
    )
    assert_error(client.get(f"{TOKENS}/bad%00token"), 404, "NOT_FOUND")


def test_a_non_recurring_order_mints_nothing(client: TestClient) -> None:
    order_id = client.post(ORDERS, json=make_order()).json()["order_id"]
    assert client.post(f"/_sandbox/orders/{order_id}/complete", json={}).status_code == 200
    assert "recurring_token" not in client.get(f"{ORDERS}/{order_id}").json()
    assert_error(client.get(f"{TOKENS}/{order_id}"), 404, "NOT_FOUND")


def test_bad_charges_answer_in_the_vendors_format(client: TestClient) -> None:
    token = mint(client)
    url = f"{TOKENS}/{token}/order"
    assert_error(client.post(url, json=token_order(order_amount=0)), 400, "BAD_VALUE")
    assert_error(client.post(url, json=token_order(order_amount=100)), 400, "BAD_VALUE")
    bad_line = token_line(total_amount=1)
    assert_error(client.post(url, json=token_order(order_lines=[bad_line])), 400, "BAD_VALUE")
    assert_error(client.post(url, json=token_order(order_lines=[])), 400, "BAD_VALUE")
    missing = token_order()
    del missing["purchase_currency"]
    response = client.post(url, json=missing)
    assert_error(response, 400, "BAD_VALUE")
    assert response.json()["error_messages"] == ["Bad value: purchase_currency (may not be null)"]
    assert_error(client.post(url, content=b"{not json"), 400, "BAD_VALUE")
    mismatch = client.post(url, json=token_order(purchase_currency="EUR"))
    assert_error(mismatch, 403, "PAYMENT_METHOD_CURRENCY_MISMATCH")
    assert client.post(url, json=token_order()).status_code == 200  # none of those charged


def test_the_shoppers_persona_decides_each_charge(client: TestClient) -> None:
    declined = mint(client, email="jane+token-denied@example.com")
    charge = client.post(f"{TOKENS}/{declined}/order", json=token_order())
    assert_error(charge, 403, "PAYMENT_METHOD_FAILED")
    pending = mint(client, email="jane+pend-accept-05@example.com")
    answer = client.post(f"{TOKENS}/{pending}/order", json=token_order(auto_capture=True))
    assert answer.status_code == 200
    assert answer.json()["fraud_status"] == "PENDING"
    opened = client.get(f"{OM}/{answer.json()['order_id']}").json()
    assert opened["fraud_status"] == "PENDING"
    assert opened["captured_amount"] == 0  # a pending order is never captured


def test_an_empty_token_segment_is_the_edges_405(client: TestClient) -> None:
    response = client.post(f"{TOKENS}//order", json=token_order())
    assert response.status_code == 405
    assert response.json()["error_code"] == "HTTP_ERROR"
    assert response.json()["error_messages"] == [""]


def test_a_recurring_line_with_a_subscription_is_accepted_at_checkout(client: TestClient) -> None:
    line = make_line(subscription={"name": "Box", "interval": "MONTH", "interval_count": 1})
    created = client.post(ORDERS, json=make_order(recurring=True, order_lines=[line]))
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("given", [{"tax_rate": 0, "total_tax_amount": 0}, {}])
def test_a_charge_without_tax_opens_its_order(client: TestClient, given: dict[str, Any]) -> None:
    """A zero (or left out) tax rate is a charge like any other, never a 500."""
    token = mint(client)
    line = {k: v for k, v in token_line().items() if k not in ("tax_rate", "total_tax_amount")}
    body = token_order(order_tax_amount=0, order_lines=[line | given])
    charged = client.post(f"{TOKENS}/{token}/order", json=body)
    assert charged.status_code == 200, charged.text
    order = client.get(f"/ordermanagement/v1/orders/{charged.json()['order_id']}").json()
    assert order["order_lines"][0]["tax_rate"] == 0
    assert order["original_order_amount"] == body["order_amount"]


def test_a_recurring_order_cannot_be_bought_with_financing(client: TestClient) -> None:
    created = client.post(ORDERS, json=make_order(recurring=True)).json()
    bought = client.post(
        f"/_sandbox/orders/{created['order_id']}/complete", json={"payment_method": "part_payment"}
    )
    assert_error(bought, 400, "BAD_VALUE")
    assert "financing" in bought.json()["error_messages"][0]
    order = client.get(f"{ORDERS}/{created['order_id']}").json()
    assert (order["status"], order.get("recurring_token")) == ("checkout_incomplete", None)
