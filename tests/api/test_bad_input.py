"""Hostile or odd input gets the vendor's 4xx, never a 500; on SQLite and PostgreSQL.

Each test here reproduces a finding of a security review: undecodable credentials, JSON nested
deeper than the decoder recurses, a NUL in an id (PostgreSQL refuses it in a string), an
idempotency key longer than PostgreSQL's column, the `Allow` of a path two routes share, and a
refund whose informational lines do not add up to its amount.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from tests.factories import MERCHANT, make_line, make_order

ORDERS = "/checkout/v3/orders"
OM = "/ordermanagement/v1/orders"
NO_AUTH = httpx2.Auth()  # sends the request as it is built, without the client's credentials


def completed(client: TestClient) -> str:
    created = client.post(ORDERS, json=make_order())
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={"email": "c@example.com"})
    assert done.status_code == 200, done.text
    return order_id


def assert_error(response: Any, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    assert body["correlation_id"]
    if message is not None:
        assert body["error_messages"] == [message]


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Basic realm=")
    assert response.headers["content-type"].startswith("text/html")


# 1. Credentials that are not base64, not UTF-8 or not ASCII


@pytest.mark.parametrize(
    "authorization",
    [
        b"Basic \xff\xfe",  # raw bytes: neither base64 nor UTF-8
        b"Basic \xc3\x84\xc3\x96",  # UTF-8 "ÄÖ" sent raw, as a bare key
        b"Basic " + base64.b64encode(b"\xff\xfe:" + MERCHANT.api_key.encode()),
    ],
)
def test_undecodable_credentials_are_a_401(client: TestClient, authorization: bytes) -> None:
    response = client.get(
        f"{ORDERS}/{uuid.uuid4()}", headers={b"Authorization": authorization}, auth=NO_AUTH
    )
    assert_unauthorized(response)


def test_a_non_ascii_user_name_with_the_right_key_is_a_401(client: TestClient) -> None:
    credential = base64.b64encode(f"ÄÖ:{MERCHANT.api_key}".encode()).decode()
    response = client.post(
        ORDERS, json=make_order(), headers={"Authorization": f"Basic {credential}"}, auth=NO_AUTH
    )
    assert_unauthorized(response)


# 2. JSON nested deeper than the decoder goes


@pytest.mark.parametrize("depth", [999, 5000])
def test_deeply_nested_json_is_a_400(client: TestClient, depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    assert_error(client.post(ORDERS, content=body), 400, "BAD_VALUE")
    nested_object = b'{"a":' * depth + b"1" + b"}" * depth
    assert_error(client.post(ORDERS, content=nested_object), 400, "BAD_VALUE")
    order_id = completed(client)
    assert_error(client.post(f"{OM}/{order_id}/captures", content=body), 400, "BAD_VALUE")


# 3. A NUL (or another control character) in an id


@pytest.mark.parametrize("bad_id", ["abc%00def", "abc%01def", f"{uuid.uuid4()}%00"])
def test_an_id_with_a_control_character_is_not_found(client: TestClient, bad_id: str) -> None:
    for response in (  # an unknown checkout order: the bare 404 of an expired one
        client.get(f"{ORDERS}/{bad_id}"),
        client.post(f"{ORDERS}/{bad_id}", json={}),
        client.post(f"{ORDERS}/{bad_id}/abort"),
    ):
        assert (response.status_code, response.content) == (404, b"")
    assert_error(client.get(f"{OM}/{bad_id}"), 404, "NO_SUCH_ORDER")
    assert_error(client.get(f"{OM}/{bad_id}/captures"), 404, "NO_SUCH_ORDER")
    assert_error(client.post(f"{OM}/{bad_id}/cancel"), 404, "NO_SUCH_ORDER")
    capture = client.post(f"{OM}/{bad_id}/captures", json={"captured_amount": 1})
    assert_error(capture, 404, "NO_SUCH_ORDER")
    refund = client.post(f"{OM}/{bad_id}/refunds", json={"refunded_amount": 1})
    assert_error(refund, 404, "NOT_FOUND")  # as for any unknown order (the OpenAPI file's code)
    assert_error(client.get(f"{OM}/{bad_id}/refunds/{uuid.uuid4()}"), 404, "NOT_FOUND")


def test_an_id_check_comes_after_authentication(client: TestClient) -> None:
    assert_unauthorized(client.get(f"{ORDERS}/abc%00def", auth=NO_AUTH))
    assert_unauthorized(client.get(f"{OM}/abc%00def", auth=NO_AUTH))


# 4. Idempotency keys PostgreSQL cannot store


KEY = "Klarna-Idempotency-Key"


@pytest.mark.parametrize("key", ["k" * 256, "k" * 1000, "a\x00b"])
def test_an_idempotency_key_the_store_cannot_hold_is_a_400(client: TestClient, key: str) -> None:
    order_id = completed(client)
    response = client.post(
        f"{OM}/{order_id}/captures",
        json={"captured_amount": 100},
        headers={KEY.encode(): key.encode("latin-1")},
    )
    assert_error(response, 400, "BAD_VALUE", f"Bad value: {KEY}")
    cancel = client.post(f"{OM}/{order_id}/cancel", headers={KEY.encode(): key.encode("latin-1")})
    assert_error(cancel, 400, "BAD_VALUE", f"Bad value: {KEY}")
    order = client.get(f"{OM}/{order_id}").json()
    assert (order["status"], order["captures"]) == ("AUTHORIZED", [])


def test_an_idempotency_key_of_255_characters_is_used(client: TestClient) -> None:
    order_id = completed(client)
    key = {KEY: "k" * 255}
    url = f"{OM}/{order_id}/captures"
    first = client.post(url, json={"captured_amount": 100}, headers=key)
    assert first.status_code == 201, first.text
    again = client.post(url, json={"captured_amount": 100}, headers=key)
    assert again.headers["capture-id"] == first.headers["capture-id"]


# 5. `Allow` names every method of a path, whichever route takes it


def allowed(response: Any) -> list[str]:
    assert response.status_code == 405, response.text
    assert response.json()["error_code"] == "HTTP_ERROR"
    return sorted(response.headers["allow"].split(", "))


def test_allow_lists_every_method_of_a_path(client: TestClient) -> None:
    order_id = completed(client)
    assert allowed(client.delete(f"{ORDERS}/{order_id}")) == ["GET", "HEAD", "POST"]
    assert allowed(client.put(f"{ORDERS}/{order_id}")) == ["GET", "HEAD", "POST"]
    assert allowed(client.delete(f"{OM}/{order_id}/captures")) == ["GET", "HEAD", "POST"]
    assert allowed(client.delete(f"{OM}/{order_id}")) == ["GET", "HEAD"]
    assert allowed(client.delete(ORDERS)) == ["POST"]


# 6. A refund's lines are informational: their sum need not be the refunded amount


def test_a_refund_whose_lines_do_not_add_up_is_accepted(client: TestClient) -> None:
    order_id = completed(client)
    assert client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 50000}).status_code
    every_line = [make_line()]  # 50000, all of the order, as a client that sends every line does
    response = client.post(
        f"{OM}/{order_id}/refunds", json={"refunded_amount": 10000, "order_lines": every_line}
    )
    assert response.status_code == 201, response.text
    refund = client.get(response.headers["location"]).json()
    assert refund["refunded_amount"] == 10000
    assert [line["total_amount"] for line in refund["order_lines"]] == [50000]
    order = client.get(f"{OM}/{order_id}").json()
    assert order["refunded_amount"] == 10000


def test_a_refund_line_with_wrong_arithmetic_is_still_a_400(client: TestClient) -> None:
    order_id = completed(client)
    client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 50000})
    broken = [make_line(total_amount=1)]
    response = client.post(
        f"{OM}/{order_id}/refunds", json={"refunded_amount": 1, "order_lines": broken}
    )
    assert_error(response, 400, "BAD_VALUE", "Bad value: order_lines[0].total_amount")
    assert client.get(f"{OM}/{order_id}").json()["refunds"] == []
