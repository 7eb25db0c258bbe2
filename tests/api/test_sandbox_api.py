"""Completing checkouts without a browser: the sandbox control API over the real purchase steps."""

from __future__ import annotations

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
from tests.factories import MERCHANT, OTHER_MERCHANT, make_line, make_order
from tests.receiver import Receiver, Reply

ORDERS = "/checkout/v3/orders"

SHIPPING = [
    {"id": "pickup", "name": "Pick-up point", "price": 0, "tax_amount": 0, "tax_rate": 0},
    {
        "id": "home",
        "name": "Home delivery",
        "price": 4900,
        "tax_amount": 980,
        "tax_rate": 2500,
        "preselected": True,
    },
]


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post(ORDERS, json=make_order(**overrides))
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def complete(client: TestClient, order_id: str, **body: Any) -> Any:
    return client.post(f"/_sandbox/orders/{order_id}/complete", json=body)


def urls_with(receiver: Receiver, **callbacks: str) -> dict[str, str]:
    urls: dict[str, str] = make_order()["merchant_urls"]
    return urls | {name: receiver.url + path for name, path in callbacks.items()}


def assert_error(response: Any, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    if message is not None:
        assert response.json()["error_messages"] == [message]


def test_an_approved_purchase_completes_the_order(client: TestClient) -> None:
    order = create(client)
    response = complete(client, order["order_id"])
    assert response.status_code == 200
    assert response.json() == {
        "order_id": order["order_id"],
        "status": "checkout_complete",
        "fraud_status": "ACCEPTED",
        "redirect_url": f"https://shop.example/confirmation?id={order['order_id']}",
    }
    read = client.get(f"{ORDERS}/{order['order_id']}").json()
    assert read["status"] == "checkout_complete"
    assert read["completed_at"] == "2026-01-01T12:00:00Z"
    assert read["billing_address"]["given_name"] == "Testperson-se"
    assert read["billing_address"]["email"] == "customer@example.com"
    assert read["billing_address"]["country"] == "se"
    assert read["shipping_address"] == read["billing_address"]
    assert read["customer"] == {"type": "person", "date_of_birth": "1941-03-21"}
    assert 'ORDER_STATUS":"checkout_complete' in read["html_snippet"].replace(" ", "")
    assert "merchant_requested" not in read
    update = client.post(f"{ORDERS}/{order['order_id']}", json={"merchant_reference1": "x"})
    assert_error(update, 403, "READ_ONLY_ORDER")
    assert_error(complete(client, order["order_id"]), 403, "READ_ONLY_ORDER")


def test_given_addresses_and_a_separate_shipping_address_are_used(client: TestClient) -> None:
    order = create(client, options={"allow_separate_shipping_address": True})
    billing = {
        "given_name": "Alva",
        "family_name": "Berg",
        "street_address": "Storgatan 2",
        "postal_code": "11122",
        "city": "Stockholm",
        "phone": "+46700000000",
    }
    shipping = {**billing, "street_address": "Lillgatan 9", "care_of": "Kontoret"}
    response = complete(
        client,
        order["order_id"],
        email="alva@example.com",
        billing_address=billing,
        shipping_address=shipping,
    )
    assert response.status_code == 200
    read = client.get(f"{ORDERS}/{order['order_id']}").json()
    assert read["billing_address"] == {**billing, "country": "se", "email": "alva@example.com"}
    assert read["shipping_address"]["street_address"] == "Lillgatan 9"
    assert read["shipping_address"]["care_of"] == "Kontoret"


def test_a_denied_persona_leaves_the_order_open_for_another_try(client: TestClient) -> None:
    order = create(client)
    denied = complete(client, order["order_id"], email="anna+denied@example.com")
    assert_error(denied, 422, "PURCHASE_DENIED")
    assert client.get(f"{ORDERS}/{order['order_id']}").json()["status"] == "checkout_incomplete"
    again = complete(client, order["order_id"], email="anna@example.com", payment_method="card")
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("tag", "decision"), [("pend-accept-05", "accept"), ("pend-reject-12", "reject")]
)
def test_pending_personas_complete_with_a_decision_due(
    client: TestClient, store: Store, clock: FrozenClock, tag: str, decision: str
) -> None:
    order = create(client)
    response = complete(client, order["order_id"], email=f"pat+{tag}@example.com")
    assert response.status_code == 200
    assert response.json()["fraud_status"] == "PENDING"
    record = store.checkouts.get(order["order_id"])
    assert record is not None
    assert record.session.pending_decision == decision
    minutes = int(tag[-2:])
    assert record.session.decision_due_at == clock.now() + timedelta(minutes=minutes)


def test_a_sign_up_persona_completes_through_the_api(client: TestClient) -> None:
    order = create(client)
    response = complete(client, order["order_id"], email="new+require_signup@example.com")
    assert response.status_code == 200


def test_the_platform_prices_a_chosen_shipping_option(client: TestClient) -> None:
    order = create(client, shipping_options=SHIPPING)
    assert complete(client, order["order_id"]).status_code == 200  # the preselected option
    read = client.get(f"{ORDERS}/{order['order_id']}").json()
    assert read["selected_shipping_option"]["id"] == "home"
    assert read["order_lines"][-1] == {
        "type": "shipping_fee",
        "reference": "home",
        "name": "Home delivery",
        "quantity": 1,
        "unit_price": 4900,
        "tax_rate": 2500,
        "total_amount": 4900,
        "total_discount_amount": 0,
        "total_tax_amount": 980,
    }
    assert read["order_amount"] == 50000 + 4900
    assert read["order_tax_amount"] == 4545 + 980
    assert len(read["order_lines"]) == 2


def test_a_chosen_option_by_id(client: TestClient) -> None:
    order = create(client, shipping_options=SHIPPING)
    assert complete(client, order["order_id"], shipping_option_id="pickup").status_code == 200
    read = client.get(f"{ORDERS}/{order['order_id']}").json()
    assert read["selected_shipping_option"]["id"] == "pickup"
    assert read["order_amount"] == 50000
    unknown = create(client, shipping_options=SHIPPING)
    assert_error(
        complete(client, unknown["order_id"], shipping_option_id="drone"),
        400,
        "BAD_VALUE",
        "Bad value: shipping_option_id (no such shipping option)",
    )


def test_shipping_option_update_callback_sets_the_cart(
    client: TestClient, receiver: Receiver
) -> None:
    shipped = make_line(
        type="shipping_fee",
        reference="home",
        name="Home delivery",
        quantity=1,
        unit_price=4900,
        tax_rate=2500,
        total_amount=4900,
        total_tax_amount=980,
        total_discount_amount=0,
    )
    cart = {
        "order_amount": 54900,
        "order_tax_amount": 5525,
        "purchase_currency": "SEK",
        "order_lines": [make_line(), shipped],
    }
    receiver.on("/shipping", Reply(200, cart))
    order = create(
        client,
        shipping_options=SHIPPING,
        merchant_urls=urls_with(receiver, shipping_option_update="/shipping"),
    )
    assert complete(client, order["order_id"]).status_code == 200
    [call] = receiver.calls("/shipping")
    sent = call.json()
    assert sent["selected_shipping_option"]["id"] == "home"
    assert sent["order_amount"] == 50000  # the platform adds nothing itself
    assert call.headers["Content-Type"] == "application/json"
    read = client.get(f"{ORDERS}/{order['order_id']}").json()
    assert read["order_amount"] == 54900
    assert read["order_lines"] == cart["order_lines"]


def test_address_update_callback_cart_must_obey_the_rules(
    client: TestClient, receiver: Receiver
) -> None:
    receiver.on(
        "/address",
        Reply(
            200,
            {
                "order_amount": 1,
                "order_tax_amount": 0,
                "purchase_currency": "SEK",
                "order_lines": [make_line()],
            },
        ),
    )
    order = create(client, merchant_urls=urls_with(receiver, address_update="/address"))
    response = complete(client, order["order_id"])
    assert_error(
        response,
        422,
        "CALLBACK_FAILED",
        "The merchant's cart breaks a rule: Bad value: order_amount",
    )
    assert len(receiver.calls("/address")) == 1


@pytest.mark.parametrize(
    ("reply", "code", "message"),
    [
        (
            Reply(400, {"error_type": "address_error", "error_text": "We do not ship there"}),
            "CALLBACK_REFUSED",
            "We do not ship there",
        ),
        (
            Reply(303, headers={"Location": "https://shop.example/cart"}),
            "CALLBACK_REDIRECT",
            "The merchant redirected the shopper to https://shop.example/cart",
        ),
        (Reply(303), "CALLBACK_FAILED", "the merchant answered 303 without a Location header"),
        (Reply(500), "CALLBACK_FAILED", "the merchant answered 500"),
        (Reply(200, b"not json"), "CALLBACK_FAILED", None),
    ],
)
def test_address_update_answers(
    client: TestClient, receiver: Receiver, reply: Reply, code: str, message: str | None
) -> None:
    receiver.on("/address", reply)
    order = create(client, merchant_urls=urls_with(receiver, address_update="/address"))
    assert_error(complete(client, order["order_id"]), 422, code, message)
    assert client.get(f"{ORDERS}/{order['order_id']}").json()["status"] == "checkout_incomplete"


def test_country_change_is_called_when_the_billing_country_changes(
    client: TestClient, receiver: Receiver
) -> None:
    cart = {
        "order_amount": 50000,
        "order_tax_amount": 4545,
        "purchase_currency": "SEK",
        "order_lines": [make_line()],
    }
    receiver.on("/country", Reply(200, cart))
    order = create(
        client,
        billing_countries=["SE", "FI"],
        shipping_countries=["SE", "FI"],
        merchant_urls=urls_with(receiver, country_change="/country"),
    )
    finnish = {
        "given_name": "Matti",
        "family_name": "M",
        "street_address": "Katu 1",
        "postal_code": "00100",
        "city": "Helsinki",
        "country": "FI",
    }
    assert complete(client, order["order_id"], billing_address=finnish).status_code == 200
    [call] = receiver.calls("/country")
    assert call.json()["billing_address"]["country"] == "fi"


def test_a_billing_country_outside_the_list_is_refused(client: TestClient) -> None:
    order = create(client)
    norwegian = {"given_name": "Ola", "family_name": "N", "country": "NO"}
    response = complete(client, order["order_id"], billing_address=norwegian)
    assert_error(response, 400, "BAD_VALUE")


@pytest.mark.parametrize(
    ("reply", "required", "status", "code"),
    [
        (Reply(200), False, 200, None),
        (
            Reply(303, headers={"Location": "https://shop.example/oops"}),
            False,
            422,
            "CALLBACK_REDIRECT",
        ),
        (
            Reply(400, {"error_type": "approval_failed", "error_text": "Out of stock"}),
            False,
            422,
            "CALLBACK_REFUSED",
        ),
        (Reply(500), False, 422, "CALLBACK_FAILED"),
        (Reply(401), True, 422, "CALLBACK_FAILED"),
        (Reply(200, delay=2.5), False, 200, None),  # no answer in time: approved
        (Reply(200, delay=3.0), True, 422, "CALLBACK_FAILED"),  # ... unless success is required
    ],
)
def test_validation_callback_answers(
    client: TestClient,
    receiver: Receiver,
    reply: Reply,
    required: bool,
    status: int,
    code: str | None,
) -> None:
    receiver.on("/validate", reply)
    order = create(
        client,
        merchant_urls=urls_with(receiver, validation="/validate?order={checkout.order.id}"),
        options={"require_validate_callback_success": required},
    )
    response = complete(client, order["order_id"])
    assert response.status_code == status, response.text
    if code:
        assert response.json()["error_code"] == code
    [call] = receiver.calls("/validate")
    assert call.path == f"/validate?order={order['order_id']}"
    sent = call.json()
    assert sent["order_id"] == order["order_id"]
    assert sent["status"] == "checkout_incomplete"
    assert sent["billing_address"]["given_name"] == "Testperson-se"
    assert sent["order_lines"] == order["order_lines"]
    expected = "checkout_complete" if status == 200 else "checkout_incomplete"
    assert client.get(f"{ORDERS}/{order['order_id']}").json()["status"] == expected


def test_callbacks_are_recorded_on_the_order(
    client: TestClient, receiver: Receiver, store: Store
) -> None:
    receiver.on("/validate", Reply(400, {"error_type": "approval_failed", "error_text": "No"}))
    order = create(client, merchant_urls=urls_with(receiver, validation="/validate"))
    complete(client, order["order_id"])
    [event] = [e for e in store.events.list(order["order_id"]) if e["kind"].startswith("callback")]
    assert event["kind"] == "callback.validation"
    assert event["status"] == 400
    assert event["url"] == receiver.url + "/validate"
    assert event["request"]["order_id"] == order["order_id"]
    assert '"error_text": "No"' in event["response"]
    assert event["duration_ms"] >= 0


def test_mandatory_fields_and_required_checkboxes(client: TestClient) -> None:
    order = create(client, options={"phone_mandatory": True})
    no_phone = {"given_name": "A", "family_name": "B", "street_address": "C 1"}
    assert_error(
        complete(client, order["order_id"], billing_address=no_phone),
        400,
        "BAD_VALUE",
        "Bad value: billing_address.phone (mandatory)",
    )
    boxes = {
        "additional_checkboxes": [
            {"id": "terms2", "text": "I agree", "checked": False, "required": True},
            {"id": "news", "text": "News", "checked": True, "required": False},
        ]
    }
    order = create(client, options=boxes)
    assert_error(
        complete(client, order["order_id"]),
        400,
        "BAD_VALUE",
        "Bad value: options.additional_checkboxes.terms2 (required)",
    )
    assert complete(client, order["order_id"], checkboxes={"terms2": True}).status_code == 200
    read = client.get(f"{ORDERS}/{order['order_id']}").json()
    assert read["merchant_requested"] == {
        "additional_checkboxes": [
            {"id": "terms2", "checked": True},
            {"id": "news", "checked": True},
        ]
    }


def test_recurring_orders_get_a_token(client: TestClient) -> None:
    order = create(client, recurring=True)
    assert complete(client, order["order_id"]).status_code == 200
    assert client.get(f"{ORDERS}/{order['order_id']}").json()["recurring_token"]


def test_bad_requests_to_the_control_api(client: TestClient) -> None:
    order = create(client)
    url = f"/_sandbox/orders/{order['order_id']}/complete"
    assert_error(
        client.post(url, json={"email": "not-an-email"}), 400, "BAD_VALUE", "Bad value: email"
    )
    assert_error(
        client.post(url, json={"payment_method": "cash"}),
        400,
        "BAD_VALUE",
        "Bad value: payment_method",
    )
    assert_error(
        client.post(url, json={"checkboxes": []}), 400, "BAD_VALUE", "Bad value: checkboxes"
    )
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    assert client.post(url, json={}, auth=other).status_code == 404
    assert client.post("/_sandbox/orders/nope/complete", json={}).status_code == 404
    assert client.get(f"{ORDERS}/{order['order_id']}").json()["status"] == "checkout_incomplete"


def test_the_control_api_can_be_switched_off(
    store: Store, clock: FrozenClock, settings: Settings
) -> None:
    off = replace(settings, sandbox_api=False)
    store.merchants.put(MERCHANT, clock.now())
    app = create_app(off, store, clock, [MERCHANT])
    with TestClient(app, base_url=BASE_URL) as client:
        client.auth = (MERCHANT.merchant_id, MERCHANT.api_key)
        order = create(client)
        assert complete(client, order["order_id"]).status_code == 404


def test_the_events_of_an_order_can_be_read(client: TestClient, receiver: Receiver) -> None:
    receiver.on("/validate", Reply(200))
    order = create(client, merchant_urls=urls_with(receiver, validation="/validate"))
    complete(client, order["order_id"])
    response = client.get(f"/_sandbox/orders/{order['order_id']}/events")
    assert response.status_code == 200
    events = response.json()["events"]
    kinds = [e["kind"] for e in events if e["kind"] != "api.call"]
    assert kinds == ["callback.validation", "purchase.completed"]
    [validation] = [e for e in events if e["kind"] == "callback.validation"]
    assert validation["status"] == 200
    assert validation["at"] == "2026-01-01T12:00:00.000Z"
    calls = [(e["method"], e["path"], e["status"]) for e in events if e["kind"] == "api.call"]
    assert calls == [
        ("POST", "/checkout/v3/orders", 201),
        ("POST", f"/_sandbox/orders/{order['order_id']}/complete", 200),
    ]
    assert all(e["correlation_id"] for e in events if e["kind"] == "api.call")
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    assert client.get(f"/_sandbox/orders/{order['order_id']}/events", auth=other).status_code == 404


def test_a_denied_persona_is_denied_even_when_the_merchant_validates_the_order(
    client: TestClient, receiver: Receiver
) -> None:
    """The merchant's approval does not overrule the platform's decision: the validation
    callback runs (the vendor validates before it authorizes) and then the persona is denied."""
    receiver.on("/validate", Reply(200))
    receiver.on("/push", Reply(200))
    order = create(
        client,
        merchant_urls=urls_with(receiver, validation="/validate", push="/push"),
    )
    denied = complete(client, order["order_id"], email="anna+denied@example.com")
    assert_error(denied, 422, "PURCHASE_DENIED")
    assert len(receiver.calls("/validate")) == 1
    assert client.get(f"{ORDERS}/{order['order_id']}").json()["status"] == "checkout_incomplete"
    assert client.get(f"/ordermanagement/v1/orders/{order['order_id']}").status_code == 404
    events = client.get(f"/_sandbox/orders/{order['order_id']}/events").json()["events"]
    kinds = [event["kind"] for event in events]
    assert "purchase.denied" in kinds
    assert "purchase.completed" not in kinds
