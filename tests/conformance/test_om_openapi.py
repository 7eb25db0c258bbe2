"""Our Order Management answers validate against the vendor's Order Management OpenAPI file.

Orders in every state (and with shipping info, merchant references, lines with product data),
captures, the capture list, refunds, due-date options and error bodies are each validated twice:

* against the vendor's schema as published (`MerchantOrderDto`, `Capture`, `Refund`,
  `ExtendDueDateOptions`, `ErrorMessageDto` and the per-operation error schemas), with formats
  (`date-time`, `date`, `int32`/`int64`) checked;
* against a closed copy of it, where no object may carry a key the file does not define, so a
  misspelt or invented field fails too.

The published file has defects that would refuse any real answer; `SPEC_FIXES` repairs them,
and `RECORDED_FIELDS` adds what the vendor's recorded answers carry but the file omits.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any, Final

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from tests.conformance.recordings import OM_OPENAPI, load_openapi, require_openapi
from tests.factories import make_line, make_order

require_openapi(OM_OPENAPI)

OM = "/ordermanagement/v1/orders"
ORDER = "MerchantOrderDto"
LINE_TYPES: Final = (
    "physical|discount|shipping_fee|sales_tax|store_credit|gift_card|digital|surcharge|return_fee"
)
# What the vendor's recorded answers carry that the file does not define.
RECORDED_FIELDS: Final = {"customer": {"type": {"type": "string"}}}
# The error body may carry `service_version` (the vendor's SDKs read it; see the digest, 3.1).
ERROR_EXTRAS: Final = {"service_version": {"type": "string"}}


@cache
def om_openapi() -> dict[str, Any]:
    return load_openapi(OM_OPENAPI)


@pytest.fixture(scope="module", autouse=True)
def _vendor_file() -> None:
    """Every test here needs the vendor's file: fail (if it is required) before building orders."""
    om_openapi()


def fix_spec(schemas: dict[str, Any]) -> None:
    """Repair the published file's defects (each would refuse every real answer).

    * `order_line.type` lists one enum value, the alternatives joined by `|`;
    * prices and tax fields of the shipping option schemas are integers restricted to `[null]`.
    """
    line_type = schemas["order_line"]["properties"]["type"]
    assert line_type["enum"] == [LINE_TYPES], "the file changed: revisit fix_spec"
    line_type["enum"] = LINE_TYPES.split("|")
    for name in ("Addon", "Location", "SelectedShippingOptionDto", "Timeslot"):
        for field in schemas[name]["properties"].values():
            if field.get("enum") == [None]:
                del field["enum"]


def close(schema: Any) -> None:
    """No object may have keys its schema does not define."""
    if isinstance(schema, dict):
        if "properties" in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            close(value)
    elif isinstance(schema, list):
        for value in schema:
            close(value)


@cache
def components(closed: bool) -> dict[str, Any]:
    found: dict[str, Any] = copy.deepcopy(om_openapi()["components"])
    schemas = found["schemas"]
    fix_spec(schemas)
    for name, fields in RECORDED_FIELDS.items():
        schemas[name]["properties"].update(fields)
    for name, schema in schemas.items():
        if "error" in name.lower():
            schema["properties"].update(ERROR_EXTRAS)
    if closed:
        close(found)
    return found


@cache
def validator(schema: str, closed: bool, many: bool = False) -> OAS30Validator:
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{schema}"}
    root = {"type": "array", "items": ref} if many else ref
    return OAS30Validator(
        {**root, "components": components(closed)}, format_checker=oas30_format_checker
    )


def problems(schema: str, body: Any, *, closed: bool, many: bool = False) -> list[str]:
    found = validator(schema, closed, many).iter_errors(body)
    return [f"{list(e.absolute_path)}: {e.message}" for e in found]


def assert_valid(schema: str, body: Any, many: bool = False) -> None:
    assert problems(schema, body, closed=False, many=many) == []
    assert problems(schema, body, closed=True, many=many) == []


# Building orders


def completed(
    client: TestClient,
    email: str = "c@example.com",
    billing: dict[str, Any] | None = None,
    **order: Any,
) -> str:
    created = client.post("/checkout/v3/orders", json=make_order(**order))
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    completion: dict[str, Any] = {"email": email}
    if "shipping_options" in order:
        completion["shipping_option_id"] = order["shipping_options"][0]["id"]
    if billing is not None:
        completion["billing_address"] = billing
    if email.startswith("parts"):
        completion["payment_method"] = "part_payment"
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json=completion)
    assert done.status_code == 200, done.text
    return order_id


def ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response


def capture(client: TestClient, order_id: str, amount: int, **extra: Any) -> str:
    body = {"captured_amount": amount, **extra}
    response = ok(client.post(f"{OM}/{order_id}/captures", json=body), 201)
    capture_id: str = response.headers["capture-id"]
    return capture_id


def refund(client: TestClient, order_id: str, amount: int, **extra: Any) -> str:
    body = {"refunded_amount": amount, **extra}
    response = ok(client.post(f"{OM}/{order_id}/refunds", json=body), 201)
    refund_id: str = response.headers["refund-id"]
    return refund_id


SHIPPING_INFO: Final = [
    {
        "shipping_company": "DHL US",
        "shipping_method": "Home",
        "tracking_number": "63456415674545679874",
        "tracking_uri": "https://track.example/63456415674545679874",
        "return_shipping_company": "DHL US",
        "return_tracking_number": "93456415674545679888",
        "return_tracking_uri": "https://track.example/93456415674545679888",
    }
]
RICH_LINE: Final = make_line(
    quantity=2,
    total_amount=20000,
    total_tax_amount=1818,
    merchant_data="line data",
    product_url="https://shop.example/tshirt",
    image_url="https://shop.example/tshirt.png",
    product_identifiers={"brand": "Acme", "category_path": "Clothes > Tops", "color": "Blue"},
    subscription={"name": "Monthly", "interval": "MONTH", "interval_count": 1},
)


def authorized(client: TestClient, clock: FrozenClock) -> str:
    return completed(client)


def part_captured(client: TestClient, clock: FrozenClock) -> str:
    order_id = completed(client)
    capture(client, order_id, 20000, order_lines=[RICH_LINE], description="first box")
    return order_id


def captured(client: TestClient, clock: FrozenClock) -> str:
    order_id = part_captured(client, clock)
    clock.advance(timedelta(hours=2))
    capture(client, order_id, 30000, reference="second", shipping_info=SHIPPING_INFO)
    return order_id


def refunded(client: TestClient, clock: FrozenClock) -> str:
    order_id = captured(client, clock)
    clock.advance(timedelta(days=3))
    refund(client, order_id, 20000, order_lines=[RICH_LINE], reference="R1", description="back")
    refund(client, order_id, 30000)
    return order_id


def released(client: TestClient, clock: FrozenClock) -> str:
    order_id = part_captured(client, clock)
    ok(client.post(f"{OM}/{order_id}/release-remaining-authorization"), 204)
    return order_id


def cancelled(client: TestClient, clock: FrozenClock) -> str:
    order_id = completed(client)
    ok(client.post(f"{OM}/{order_id}/cancel"), 204)
    return order_id


def expired(client: TestClient, clock: FrozenClock) -> str:
    order_id = completed(client)
    clock.advance(timedelta(days=28))
    return order_id


def pending(client: TestClient, clock: FrozenClock) -> str:
    return completed(client, email="p+pend-accept-05@example.com")


def rejected(client: TestClient, clock: FrozenClock) -> str:
    order_id = completed(client, email="p+pend-reject-05@example.com")
    clock.advance(timedelta(minutes=5))
    return order_id


def rich(client: TestClient, clock: FrozenClock) -> str:
    """Every optional part: references, merchant data, shipping info, new lines, part payment."""
    order_id = completed(
        client,
        email="parts@example.com",
        merchant_reference1="1001",
        merchant_reference2="r2",
        merchant_data='{"cart": 1}',
        billing={
            "given_name": "Testperson-se",
            "family_name": "Approved",
            "email": "parts@example.com",
            "street_address": "Stårgatan 1",
            "postal_code": "12345",
            "city": "Ankeborg",
            "country": "se",
            "organization_name": "Acme AB",
            "attention": "Goods in",
        },
    )
    url = f"{OM}/{order_id}"
    refs = {"merchant_reference1": "1002", "merchant_reference2": "r3"}
    ok(client.patch(f"{url}/merchant-references", json=refs), 204)
    ok(client.post(f"{url}/shipping-info", json={"shipping_info": SHIPPING_INFO}), 204)
    lines = [RICH_LINE, make_line(quantity=3, total_amount=30000, total_tax_amount=2727)]
    ok(
        client.patch(f"{url}/authorization", json={"order_amount": 50000, "order_lines": lines}),
        204,
    )
    capture_id = capture(client, order_id, 20000, order_lines=[RICH_LINE], reference="C1")
    ok(
        client.post(
            f"{url}/captures/{capture_id}/shipping-info", json={"shipping_info": SHIPPING_INFO}
        ),
        204,
    )
    ok(
        client.patch(f"{url}/captures/{capture_id}/extend-due-date", json={"number_of_days": 14}),
        204,
    )
    ok(client.patch(f"{url}/customer-details", json={"shipping_address": {"city": "Kalmar"}}), 204)
    ok(client.post(f"{url}/extend-authorization-time"), 204)
    ok(client.post(f"{url}/acknowledge"), 204)
    refund(client, order_id, 500, description="goodwill")
    return order_id


STATES: Final[dict[str, tuple[Callable[[TestClient, FrozenClock], str], str, str]]] = {
    "authorized": (authorized, "AUTHORIZED", "ACCEPTED"),
    "part-captured": (part_captured, "PART_CAPTURED", "ACCEPTED"),
    "captured": (captured, "CAPTURED", "ACCEPTED"),
    "refunded": (refunded, "CAPTURED", "ACCEPTED"),
    "released": (released, "CAPTURED", "ACCEPTED"),
    "cancelled": (cancelled, "CANCELLED", "ACCEPTED"),
    "expired": (expired, "EXPIRED", "ACCEPTED"),
    "pending": (pending, "AUTHORIZED", "PENDING"),
    "rejected": (rejected, "CANCELLED", "REJECTED"),
    "every-part": (rich, "PART_CAPTURED", "ACCEPTED"),
}


@pytest.mark.parametrize("state", list(STATES))
def test_order_answers_match_merchant_order_dto(
    client: TestClient, clock: FrozenClock, state: str
) -> None:
    build, status, fraud_status = STATES[state]
    order_id = build(client, clock)
    body = ok(client.get(f"{OM}/{order_id}"), 200).json()
    assert (body["status"], body["fraud_status"]) == (status, fraud_status)
    assert_valid(ORDER, body)
    if state == "every-part":
        assert body["merchant_reference1"] == "1002"
        assert body["shipping_info"] == SHIPPING_INFO
        assert body["initial_payment_method"]["number_of_installments"] == 3
        assert body["order_lines"][0]["product_identifiers"]["brand"] == "Acme"
        assert body["captures"][0]["shipping_info"] == SHIPPING_INFO
        assert body["billing_address"]["organization_name"] == "Acme AB"


@pytest.mark.parametrize("state", ["captured", "refunded", "every-part"])
def test_capture_answers_match_capture(client: TestClient, clock: FrozenClock, state: str) -> None:
    order_id = STATES[state][0](client, clock)
    listed = ok(client.get(f"{OM}/{order_id}/captures"), 200).json()
    assert listed
    assert_valid("Capture", listed, many=True)
    for item in listed:
        one = ok(client.get(f"{OM}/{order_id}/captures/{item['capture_id']}"), 200).json()
        assert one == item
        assert_valid("Capture", one)


def test_refund_answers_match_refund(client: TestClient, clock: FrozenClock) -> None:
    order_id = refunded(client, clock)
    refunds = ok(client.get(f"{OM}/{order_id}"), 200).json()["refunds"]
    assert len(refunds) == 2
    for item in refunds:
        one = ok(client.get(f"{OM}/{order_id}/refunds/{item['refund_id']}"), 200).json()
        assert one == item
        assert_valid("Refund", one)
    assert refunds[0]["reference"] == "R1"


def test_due_date_options_match_extend_due_date_options(
    client: TestClient, clock: FrozenClock
) -> None:
    order_id = captured(client, clock)
    capture_id = ok(client.get(f"{OM}/{order_id}/captures"), 200).json()[0]["capture_id"]
    url = f"{OM}/{order_id}/captures/{capture_id}/extend-due-date-options"
    body = ok(client.get(url), 200).json()
    assert_valid("ExtendDueDateOptions", body)
    assert body["options"]
    assert body["currency"] == "sek"


def test_the_validators_refuse_what_the_file_does_not_allow(
    client: TestClient, clock: FrozenClock
) -> None:
    """The checks above can fail: a wrong type, an unknown status, an invented key, a bad time."""
    body = ok(client.get(f"{OM}/{captured(client, clock)}"), 200).json()
    wrong_type = {**body, "captured_amount": "50000"}
    unknown_status = {**body, "status": "SHIPPED"}
    bad_time = {**body, "created_at": "yesterday"}
    bad_line = {**body, "order_lines": [{**body["order_lines"][0], "type": "gadget"}]}
    for broken in (wrong_type, unknown_status, bad_time, bad_line):
        assert problems(ORDER, broken, closed=False)
    invented = {**body, "captures": [{**body["captures"][0], "captured_by": "robot"}]}
    assert not problems(ORDER, invented, closed=False)
    assert problems(ORDER, invented, closed=True)


# Error bodies


def _error_schema(method: str, template: str, status: int) -> dict[str, Any]:
    responses = om_openapi()["paths"][f"{OM}/{{order_id}}{template}"][method.lower()]["responses"]
    schema: dict[str, Any] = responses[str(status)]["content"]["application/json"]["schema"]
    return schema


def _setup_for(kind: str, client: TestClient, clock: FrozenClock) -> dict[str, str]:
    """An order (and capture) in the state an error case needs; ids to put into its path."""
    missing = str(uuid.uuid4())
    if kind == "none":
        return {"order_id": missing, "capture_id": missing, "refund_id": missing}
    order_id = STATES[kind][0](client, clock)
    captures = client.get(f"{OM}/{order_id}/captures").json()
    capture_id = captures[0]["capture_id"] if captures else missing
    return {"order_id": order_id, "capture_id": capture_id, "refund_id": missing}


# (state, method, path after the order, body, status, error_code, whether the path's own schema
# in the file names that error_code in its example)
ERRORS: Final[list[tuple[str, str, str, Any, int, str, bool]]] = [
    ("none", "GET", "", None, 404, "NO_SUCH_ORDER", True),
    ("none", "POST", "/captures", {"captured_amount": 1}, 404, "NO_SUCH_ORDER", True),
    ("none", "GET", "/captures", None, 404, "NO_SUCH_ORDER", True),
    ("none", "GET", "/captures/{capture_id}", None, 404, "NO_SUCH_ORDER", True),
    ("none", "POST", "/acknowledge", None, 404, "NO_SUCH_ORDER", True),
    (
        "none",
        "POST",
        "/shipping-info",
        {"shipping_info": SHIPPING_INFO},
        404,
        "NO_SUCH_ORDER",
        True,
    ),
    ("cancelled", "POST", "/captures", {"captured_amount": 1}, 403, "CAPTURE_NOT_ALLOWED", True),
    ("expired", "POST", "/captures", {"captured_amount": 1}, 403, "CAPTURE_NOT_ALLOWED", True),
    ("captured", "POST", "/cancel", None, 403, "CANCEL_NOT_ALLOWED", True),
    ("authorized", "POST", "/refunds", {"refunded_amount": 1}, 403, "REFUND_NOT_ALLOWED", True),
    ("authorized", "POST", "/release-remaining-authorization", None, 403, "NOT_ALLOWED", True),
    ("part-captured", "PATCH", "/authorization", {"order_amount": 1}, 403, "NOT_ALLOWED", True),
    ("cancelled", "PATCH", "/customer-details", {"billing_address": {}}, 403, "NOT_ALLOWED", True),
    ("expired", "POST", "/extend-authorization-time", None, 403, "NOT_ALLOWED", True),
    (
        "cancelled",
        "PATCH",
        "/merchant-references",
        {"merchant_reference1": "x"},
        403,
        "NOT_ALLOWED",
        True,
    ),
    ("captured", "GET", "/refunds/{refund_id}", None, 404, "NOT_FOUND", True),
    (
        "authorized",
        "POST",
        "/captures/{capture_id}/trigger-send-out",
        None,
        404,
        "NO_SUCH_CAPTURE",
        True,
    ),
    (
        "captured",
        "PATCH",
        "/captures/{capture_id}/extend-due-date",
        {"number_of_days": 99},
        403,
        "NOT_ALLOWED",
        False,
    ),
    (
        "authorized",
        "GET",
        "/captures/{capture_id}/extend-due-date-options",
        None,
        404,
        "NO_SUCH_CAPTURE",
        False,
    ),
    ("authorized", "GET", "/captures/{capture_id}", None, 404, "NO_SUCH_CAPTURE", False),
    ("authorized", "POST", "/captures", {"captured_amount": "all"}, 400, "BAD_VALUE", False),
]


def _request(
    client: TestClient, clock: FrozenClock, state: str, method: str, template: str, body: Any
) -> Any:
    ids = _setup_for(state, client, clock)
    path = f"{OM}/{ids['order_id']}{template.format(**ids)}"
    return client.request(method, path, json=body)


@pytest.mark.parametrize(
    ("state", "method", "template", "body", "status", "code", "named"),
    ERRORS,
    ids=[f"{e[1]} {e[2] or '/'} {e[0]} {e[4]}" for e in ERRORS],
)
def test_error_bodies_match_error_message_dto(
    client: TestClient,
    clock: FrozenClock,
    state: str,
    method: str,
    template: str,
    body: Any,
    status: int,
    code: str,
    named: bool,
) -> None:
    response = _request(client, clock, state, method, template, body)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["error_code"] == code
    assert error["error_messages"]
    assert error["correlation_id"] == response.headers["klarna-correlation-id"]
    assert_valid("ErrorMessageDto", error)
    if named:
        schema = _error_schema(method, template, status)
        name = schema["$ref"].rsplit("/", 1)[1]
        assert_valid(name, error)
        example = components(False)["schemas"][name]["properties"]["error_code"].get("example")
        assert example in (None, code), f"the file names {example} for {method} {template}"


# Known differences from the file, each a failing case kept until the behaviour follows it.


def test_refund_on_an_unknown_order_answers_not_found(
    client: TestClient, clock: FrozenClock
) -> None:
    response = _request(client, clock, "none", "POST", "/refunds", {"refunded_amount": 1})
    assert response.status_code == 404
    name = _error_schema("POST", "/refunds", 404)["$ref"].rsplit("/", 1)[1]
    example = components(False)["schemas"][name]["properties"]["error_code"]["example"]
    assert response.json()["error_code"] == example


SHIPPING_OPTION: Final = {
    "id": "express",
    "name": "Express",
    "description": "Tomorrow",
    "price": 4900,
    "tax_amount": 980,
    "tax_rate": 2500,
    "preselected": True,
    "shipping_method": "Home",
    "delivery_details": {"carrier": "PostNord", "class": "express"},
}


def _with_shipping_option(client: TestClient) -> dict[str, Any]:
    line = make_line()
    fee = {
        "type": "shipping_fee",
        "reference": "express",
        "name": "Express",
        "quantity": 1,
        "unit_price": 4900,
        "tax_rate": 2500,
        "total_amount": 4900,
        "total_discount_amount": 0,
        "total_tax_amount": 980,
    }
    order_id = completed(
        client,
        order_amount=54900,
        order_tax_amount=5525,
        order_lines=[line, fee],
        shipping_options=[SHIPPING_OPTION],
    )
    body: dict[str, Any] = ok(client.get(f"{OM}/{order_id}"), 200).json()
    assert body["selected_shipping_option"]["id"] == "express"
    return body


def test_selected_shipping_option_matches_the_published_schema(client: TestClient) -> None:
    assert problems(ORDER, _with_shipping_option(client), closed=False) == []


def test_selected_shipping_option_uses_only_the_om_fields(client: TestClient) -> None:
    option = _with_shipping_option(client)["selected_shipping_option"]
    assert problems("SelectedShippingOptionDto", option, closed=True) == []
