"""The Checkout API through the real app, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from tests.conftest import BASE_URL
from tests.factories import OTHER_MERCHANT, make_line, make_order

ORDERS = "/checkout/v3/orders"
NO_AUTH = httpx2.Auth()  # sends the request as it is built


def create(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post(ORDERS, json=make_order(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: Any, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error_code"] == code
    assert body["error_messages"] == [message]
    assert body["correlation_id"] == response.headers["klarna-correlation-id"]
    uuid.UUID(body["correlation_id"])


def test_create_answers_201_with_the_order_and_an_absolute_location(client: TestClient) -> None:
    response = client.post(ORDERS, json=make_order(merchant_reference1="45-1"))
    assert response.status_code == 201
    order = response.json()
    uuid.UUID(order["order_id"])
    assert response.headers["location"] == f"{BASE_URL}{ORDERS}/{order['order_id']}"
    assert response.headers["content-type"] == "application/json"
    assert order["status"] == "checkout_incomplete"
    assert order["name"] == "First Store"
    assert order["purchase_country"] == "se"
    assert order["purchase_currency"] == "SEK"
    assert order["locale"] == "en-SE"
    assert order["billing_address"] == {"country": "se"}
    assert order["shipping_address"] == {"country": "se"}
    assert order["customer"] == {}
    assert order["order_amount"] == 50000
    assert order["order_lines"] == make_order()["order_lines"]
    assert order["merchant_reference1"] == "45-1"
    assert order["options"] == {
        "allow_separate_shipping_address": False,
        "date_of_birth_mandatory": False,
        "require_validate_callback_success": False,
    }
    assert order["external_payment_methods"] == []
    assert order["external_checkouts"] == []
    assert order["started_at"] == order["last_modified_at"] == "2026-01-01T12:00:00Z"
    assert "completed_at" not in order


def test_create_also_answers_on_a_trailing_slash(client: TestClient) -> None:
    response = client.post(ORDERS + "/", json=make_order())
    assert response.status_code == 201
    assert response.headers["location"].endswith(response.json()["order_id"])


def test_the_snippet_points_at_this_server(client: TestClient) -> None:
    order = create(client)
    snippet = order["html_snippet"]
    assert snippet.startswith('<div id="klarna-checkout-container"')
    assert 'id="klarna-unsupported-page"' in snippet
    assert "w[k]=w[k]||function(){(w[k].q=w[k].q||[]).push(arguments)}" in snippet
    assert f'"{BASE_URL}/kco/checkout/{order["order_id"]}"' in snippet
    assert f'"{BASE_URL}/kco/checkout.bootstrap.js"' in snippet
    assert "<noscript>" in snippet
    assert "document.write" not in snippet


def test_merchant_text_cannot_break_out_of_the_snippet_script(client: TestClient) -> None:
    urls = make_order()["merchant_urls"] | {"terms": "https://x/</script><script>alert(1)//'"}
    snippet = create(client, merchant_urls=urls)["html_snippet"]
    assert "</script><script>alert" not in snippet


def test_options_echo_with_defaults_filled(client: TestClient) -> None:
    order = create(client, options={"allow_separate_shipping_address": True, "auto_capture": True})
    assert order["options"] == {
        "allow_separate_shipping_address": True,
        "date_of_birth_mandatory": False,
        "require_validate_callback_success": False,
        "auto_capture": True,
    }


def test_prefilled_addresses_keep_the_purchase_country(client: TestClient) -> None:
    order = create(client, billing_address={"email": "a@example.com", "postal_code": "12345"})
    assert order["billing_address"] == {
        "country": "se",
        "email": "a@example.com",
        "postal_code": "12345",
    }


def test_read_returns_what_create_returned(client: TestClient) -> None:
    created = create(client)
    response = client.get(f"{ORDERS}/{created['order_id']}")
    assert response.status_code == 200
    assert response.json() == created


def test_update_merges_and_answers_the_whole_order(client: TestClient, clock: FrozenClock) -> None:
    created = create(client, merchant_reference1="A")
    clock.advance(timedelta(minutes=3))
    two = [make_line(), make_line(reference="second")]
    response = client.post(
        f"{ORDERS}/{created['order_id']}",
        json={"order_lines": two, "order_amount": 100000, "order_tax_amount": 9090},
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["merchant_reference1"] == "A"
    assert [line["reference"] for line in updated["order_lines"]] == ["19-402", "second"]
    assert updated["started_at"] == created["started_at"]
    assert updated["last_modified_at"] == "2026-01-01T12:03:00Z"
    assert client.get(f"{ORDERS}/{created['order_id']}").json() == updated


def test_update_ignores_read_only_fields_like_a_whole_order_sent_back(client: TestClient) -> None:
    created = create(client)
    echoed = {**created, "status": "checkout_complete", "order_id": str(uuid.uuid4())}
    echoed["merchant_reference2"] = "from-dotnet"
    response = client.post(f"{ORDERS}/{created['order_id']}", json=echoed)
    assert response.status_code == 200
    assert response.json()["order_id"] == created["order_id"]
    assert response.json()["status"] == "checkout_incomplete"
    assert response.json()["merchant_reference2"] == "from-dotnet"


def test_update_revalidates_amounts(client: TestClient) -> None:
    created = create(client)
    response = client.post(f"{ORDERS}/{created['order_id']}", json={"order_amount": 1})
    assert_error(response, 400, "BAD_VALUE", "Bad value: order_amount")
    assert client.get(f"{ORDERS}/{created['order_id']}").json() == created


def test_abort_makes_the_order_read_only(client: TestClient) -> None:
    created = create(client)
    aborted = client.post(f"{ORDERS}/{created['order_id']}/abort")
    assert aborted.status_code == 200
    assert aborted.json()["status"] == "checkout_incomplete"
    assert client.get(f"{ORDERS}/{created['order_id']}").status_code == 200
    update = client.post(f"{ORDERS}/{created['order_id']}", json={"merchant_reference1": "x"})
    assert_error(update, 403, "READ_ONLY_ORDER", "Resource is read-only")
    again = client.post(f"{ORDERS}/{created['order_id']}/abort")
    assert_error(again, 403, "READ_ONLY_ORDER", "Resource is read-only")


def test_read_only_comes_before_body_errors(client: TestClient) -> None:
    created = create(client)
    client.post(f"{ORDERS}/{created['order_id']}/abort")
    response = client.post(f"{ORDERS}/{created['order_id']}", json={"order_amount": "x"})
    assert response.status_code == 403


def test_orders_expire_48_hours_after_their_last_change(
    client: TestClient, clock: FrozenClock
) -> None:
    created = create(client)
    url = f"{ORDERS}/{created['order_id']}"
    clock.advance(timedelta(hours=47))
    assert client.post(url, json={"merchant_reference1": "keep me"}).status_code == 200
    clock.advance(timedelta(hours=47))
    assert client.get(url).status_code == 200
    clock.advance(timedelta(hours=1))
    for response in (client.get(url), client.post(url, json={}), client.post(url + "/abort")):
        assert response.status_code == 404
        assert response.content == b""
        assert "klarna-correlation-id" in response.headers


@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid", "0"])
def test_unknown_order_is_a_bare_404_like_an_expired_one(client: TestClient, order_id: str) -> None:
    """The vendor deletes expired orders, so an unknown id answers as they do: 404, no body (its
    SDK's integration test expects exactly that), with the correlation id."""
    for response in (
        client.get(f"{ORDERS}/{order_id}"),
        client.post(f"{ORDERS}/{order_id}", json={}),
        client.post(f"{ORDERS}/{order_id}/abort"),
    ):
        assert response.status_code == 404
        assert response.content == b""
        assert "Content-Type" not in response.headers
        assert response.headers["Klarna-Correlation-Id"]


def test_another_merchants_order_is_not_found(client: TestClient) -> None:
    created = create(client)
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    url = f"{ORDERS}/{created['order_id']}"
    for response in (
        client.get(url, auth=other),
        client.post(url, json={"merchant_reference1": "stolen"}, auth=other),
        client.post(url + "/abort", auth=other),
    ):
        assert (response.status_code, response.content) == (404, b"")
    assert client.get(url).json() == created


@pytest.mark.parametrize(
    "auth_header",
    [None, "Basic d3Jvbmc6d3Jvbmc=", "Bearer kco_test_api_first", "Basic kco_test_api_wrong"],
)
def test_bad_credentials_get_a_challenge_and_change_nothing(
    client: TestClient, auth_header: str | None
) -> None:
    created = create(client)
    headers = {"Authorization": auth_header} if auth_header else {}
    attempts = [
        client.build_request("POST", ORDERS, json=make_order(), headers=headers),
        client.build_request("GET", f"{ORDERS}/{created['order_id']}", headers=headers),
        client.build_request(
            "POST", f"{ORDERS}/{created['order_id']}", json={"order_amount": 1}, headers=headers
        ),
        client.build_request("POST", f"{ORDERS}/{created['order_id']}/abort", headers=headers),
    ]
    for request in attempts:
        response = client.send(request, auth=NO_AUTH)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="very closed site"'
        assert response.headers["content-type"].startswith("text/html")
    assert client.get(f"{ORDERS}/{created['order_id']}").json() == created


def test_the_bare_key_form_signs_in(client: TestClient) -> None:
    response = client.post(
        ORDERS,
        json=make_order(),
        headers={"Authorization": "Basic  kco_test_api_first"},
        auth=NO_AUTH,
    )
    assert response.status_code == 201


def test_a_merchant_is_held_to_its_markets(client: TestClient) -> None:
    other = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
    response = client.post(ORDERS, json=make_order(), auth=other)
    assert_error(response, 400, "BAD_VALUE", "Bad value: purchase_country")
    german = make_order(purchase_country="DE", purchase_currency="EUR", locale="de-DE")
    response = client.post(ORDERS, json=german, auth=other)
    assert response.status_code == 201
    assert response.json()["name"] == "Second Store"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "Bad value: body (malformed JSON: Input data was truncated)"),
        (b"[]", "Bad value: body (a JSON object is required)"),
        (b'"order"', "Bad value: body (a JSON object is required)"),
        (b"null", "Bad value: body (a JSON object is required)"),
        (b"", "Bad value: purchase_country (may not be null)"),
        (b"{}", "Bad value: purchase_country (may not be null)"),
    ],
)
def test_bodies_that_are_not_orders_are_400(client: TestClient, body: bytes, message: str) -> None:
    assert_error(client.post(ORDERS, content=body), 400, "BAD_VALUE", message)


def test_json_is_read_whatever_the_content_type(client: TestClient) -> None:
    import json

    for content_type in ("text/plain", "application/x-www-form-urlencoded", "*", "*/*"):
        response = client.post(
            ORDERS, content=json.dumps(make_order()), headers={"Content-Type": content_type}
        )
        assert response.status_code == 201


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    big = make_order(merchant_data="x" * (64 * 1024))
    response = client.post(ORDERS, json=big)
    assert response.status_code == 413
    assert response.json()["error_code"] == "PAYLOAD_TOO_LARGE"


def test_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    response = client.post(ORDERS, content=chunks())
    assert response.status_code == 413


def test_gets_and_actions_ignore_what_body_they_carry(client: TestClient) -> None:
    created = create(client)
    url = f"{ORDERS}/{created['order_id']}"
    assert client.request("GET", url, content=b"[]").status_code == 200
    assert client.request("GET", url, content=b"{}").status_code == 200
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post(url + "/abort", content=b"[]", headers=form).status_code == 200


def test_unknown_paths_and_methods_answer_in_the_vendor_shape(client: TestClient) -> None:
    assert client.get("/checkout/v3/nothing").json()["error_code"] == "NOT_FOUND"
    response = client.delete(ORDERS)
    assert response.status_code == 405
    assert response.json()["error_code"] == "HTTP_ERROR"
    assert response.json()["error_messages"] == [""]
    assert response.headers["allow"] == "POST"


def test_the_bootstrap_script_and_page_are_served(client: TestClient) -> None:
    created = create(client)
    script = client.get("/kco/checkout.bootstrap.js", auth=NO_AUTH)
    assert script.status_code == 200
    assert "klarna-checkout-iframe" in script.text
    page = client.get(f"/kco/checkout/{created['order_id']}", auth=NO_AUTH)
    assert page.status_code == 200
    assert "TEST DRIVE" in page.text
    assert "T-Shirt" in page.text
