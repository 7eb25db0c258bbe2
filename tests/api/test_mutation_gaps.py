"""Order Management behaviour that a mutation run (scripts/mutation) showed no test pinned down.

Each test names the mutants it kills (mutmut's names, in `docs/testing.md`); all run through the
real app, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from tests.factories import make_order

OM = "/ordermanagement/v1/orders"

# A billing address with every field Order Management keeps, each with its own value.
BILLING: dict[str, str] = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "title": "Ms",
    "street_address": "Storgatan 1",
    "street_address2": "Lgh 1101",
    "postal_code": "11122",
    "city": "Stockholm",
    "region": "Stockholms lan",
    "country": "SE",
    "email": "ada@example.com",
    "phone": "+46701234567",
    "organization_name": "Analytical Engines AB",
    "attention": "Accounts payable",
}
# A shipping address given as street name and number, as the checkout takes it in some markets.
SHIPPING: dict[str, str] = {
    "given_name": "Charles",
    "family_name": "Babbage",
    "street_name": "Drottninggatan",
    "street_number": "7",
    "postal_code": "11151",
    "city": "Uppsala",
    "country": "SE",
    "email": "charles@example.com",
    "phone": "+46707654321",
}


def completed(client: TestClient, **complete: Any) -> str:
    created = client.post("/checkout/v3/orders", json=make_order())
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    done = client.post(
        f"/_sandbox/orders/{order_id}/complete", json={"email": "c@example.com", **complete}
    )
    assert done.status_code == 200, done.text
    return order_id


def om(client: TestClient, order_id: str) -> dict[str, Any]:
    response = client.get(f"{OM}/{order_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def capture(client: TestClient, order_id: str, amount: int) -> str:
    response = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": amount})
    assert response.status_code == 201, response.text
    capture_id: str = response.headers["capture-id"]
    return capture_id


def assert_refused(response: Any, code: str, message: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error_code"] == code
    assert response.json()["error_messages"] == [message]


def test_the_order_and_its_captures_keep_every_address_field(client: TestClient) -> None:
    """Kills opening.om_address 4-7, 9-20 and 22-33 (a field dropped or its street not built
    from name and number) and rules.capture 48, 49 (a capture without the order's addresses)."""
    order_id = completed(client, billing_address=BILLING, shipping_address=SHIPPING)
    order = om(client, order_id)
    assert order["billing_address"] == BILLING
    shipping = order["shipping_address"]
    assert shipping["street_address"] == "Drottninggatan 7"
    for name in ("given_name", "family_name", "postal_code", "city", "country", "email", "phone"):
        assert shipping[name] == SHIPPING[name], name
    capture_id = capture(client, order_id, 10000)
    stored = client.get(f"{OM}/{order_id}/captures/{capture_id}").json()
    assert stored["billing_address"] == order["billing_address"]
    assert stored["shipping_address"] == order["shipping_address"]


def test_shipping_info_for_one_capture_leaves_the_other_captures_alone(
    client: TestClient,
) -> None:
    """Kills rules._with_capture 3 (every capture replaced by the one that changed)."""
    order_id = completed(client)
    first = capture(client, order_id, 20000)
    second = capture(client, order_id, 30000)
    info = {"shipping_info": [{"shipping_company": "DHL", "tracking_number": "42"}]}
    response = client.post(f"{OM}/{order_id}/captures/{second}/shipping-info", json=info)
    assert response.status_code == 204, response.text
    captures = om(client, order_id)["captures"]
    assert [c["capture_id"] for c in captures] == [first, second]
    assert [c["captured_amount"] for c in captures] == [20000, 30000]
    assert [c["shipping_info"] for c in captures] == [[], info["shipping_info"]]


def test_one_minor_unit_captured_counts_as_a_capture(client: TestClient) -> None:
    """Kills lifecycle.status 12 and 17 and rules.require 12 (`captured > 1` for `> 0`)."""
    order_id = completed(client)
    capture(client, order_id, 1)
    assert om(client, order_id)["status"] == "PART_CAPTURED"
    assert_refused(
        client.post(f"{OM}/{order_id}/cancel"),
        "CANCEL_NOT_ALLOWED",
        "Order has previous captures. Cancel not possible.",
    )
    response = client.post(f"{OM}/{order_id}/release-remaining-authorization")
    assert response.status_code == 204, response.text
    order = om(client, order_id)
    assert (order["status"], order["remaining_authorized_amount"]) == ("CAPTURED", 0)


def test_cancelling_a_cancelled_order_is_refused_with_its_status(client: TestClient) -> None:
    """Kills rules.require 11 (`captured >= 0`: "previous captures" for an order without any)."""
    order_id = completed(client)
    assert client.post(f"{OM}/{order_id}/cancel").status_code == 204
    assert_refused(
        client.post(f"{OM}/{order_id}/cancel"),
        "CANCEL_NOT_ALLOWED",
        "Order is cancelled. Cancel not possible.",
    )


# Changes that a repeat would otherwise apply again (or be refused for): (method, path under the
# order, first body, the repeat's body). `{capture}` is a capture of 10000 made beforehand.
KEYED_CHANGES: dict[str, tuple[str, str, Any, Any]] = {
    "update_authorization": (
        "PATCH",
        "/authorization",
        {"order_amount": 40000},
        {"order_amount": 45000},
    ),
    "update_customer_details": (
        "PATCH",
        "/customer-details",
        {"shipping_address": {"city": "Lund"}},
        {"shipping_address": {"city": "Malmo"}},
    ),
    "extend_authorization_time": ("POST", "/extend-authorization-time", None, None),
    "update_merchant_references": (
        "PATCH",
        "/merchant-references",
        {"merchant_reference1": "first"},
        {"merchant_reference1": "repeat"},
    ),
    "release_remaining_authorization": ("POST", "/release-remaining-authorization", None, None),
    "add_shipping_info": (
        "POST",
        "/shipping-info",
        {"shipping_info": [{"tracking_number": "1"}]},
        {"shipping_info": [{"tracking_number": "2"}]},
    ),
    "add_capture_shipping_info": (
        "POST",
        "/captures/{capture}/shipping-info",
        {"shipping_info": [{"tracking_number": "1"}]},
        {"shipping_info": [{"tracking_number": "2"}]},
    ),
    "extend_due_date": (
        "PATCH",
        "/captures/{capture}/extend-due-date",
        {"number_of_days": 14},
        {"number_of_days": 30},
    ),
}


@pytest.mark.parametrize("operation", list(KEYED_CHANGES))
def test_every_change_replays_under_its_idempotency_key(
    client: TestClient, clock: FrozenClock, operation: str
) -> None:
    """A repeat under the key answers like the first and changes nothing, whatever its body, a
    day later. Kills `OrderManagementService.<operation>` 4 (the key not passed on)."""
    method, path, body, repeat_body = KEYED_CHANGES[operation]
    order_id = completed(client)
    url = f"{OM}/{order_id}" + path.format(capture=capture(client, order_id, 10000))
    key = {"Klarna-Idempotency-Key": str(uuid.uuid4())}
    first = client.request(method, url, json=body, headers=key)
    assert first.status_code == 204, first.text
    after_first = om(client, order_id)
    clock.advance(timedelta(days=1))
    again = client.request(method, url, json=repeat_body, headers=key)
    assert (again.status_code, again.content) == (204, b""), again.text
    assert om(client, order_id) == after_first
