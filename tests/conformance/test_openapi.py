"""Our checkout answers validate against the vendor's OpenAPI `order` schema."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from starlette.testclient import TestClient

from tests.conformance.recordings import CHECKOUT_OPENAPI, checkout_openapi, require_openapi
from tests.factories import make_line, make_order

require_openapi(CHECKOUT_OPENAPI)


@pytest.fixture(scope="module")
def order_validator() -> OAS30Validator:
    spec = checkout_openapi()
    schema = {"$ref": "#/components/schemas/order", "components": spec["components"]}
    return OAS30Validator(schema)


RICH: dict[str, Any] = make_order(
    billing_address={"given_name": "Testperson-se", "email": "a@example.com"},
    customer={"type": "person"},
    merchant_reference1="1001",
    merchant_reference2="r2",
    options={
        "color_button": "#FF9900",
        "allowed_customer_types": ["person", "organization"],
        "additional_checkboxes": [
            {"id": "news", "text": "News", "checked": False, "required": False}
        ],
    },
    attachment={"content_type": "application/vnd.klarna.internal.emd-v2+json", "body": "{}"},
    external_payment_methods=[
        {"name": "PayPal", "redirect_url": "https://shop.example/paypal", "fee": 0}
    ],
    shipping_countries=["SE", "NO"],
    shipping_options=[
        {
            "id": "express",
            "name": "Express",
            "price": 0,
            "tax_amount": 0,
            "tax_rate": 0,
            "preselected": True,
            "delivery_details": {"carrier": "PostNord", "class": "express"},
        }
    ],
    merchant_data='{"cart": 1}',
    gui={"options": ["minimal_confirmation"]},
    recurring=True,
    tags=["bulky"],
    order_lines=[
        make_line(
            product_identifiers={"brand": "Acme", "category_path": "Clothes > Tops"},
            shipping_attributes={
                "weight": 300,
                "dimensions": {"height": 1, "width": 2, "length": 3},
            },
            subscription={"name": "Monthly", "interval": "MONTH", "interval_count": 1},
        )
    ],
)


@pytest.mark.parametrize("body", [make_order(), RICH], ids=["minimal", "every-part"])
def test_create_update_read_and_abort_answers_match_the_schema(
    client: TestClient, order_validator: OAS30Validator, body: dict[str, Any]
) -> None:
    created = client.post("/checkout/v3/orders", json=body)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    answers = [
        created,
        client.post(url, json={"merchant_reference1": "1002"}),
        client.get(url),
        client.post(url + "/abort"),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201)
        order_validator.validate(answer.json())
    assert answers[2].json()["merchant_reference1"] == "1002"
    if body is RICH:
        assert answers[2].json()["shipping_options"][0]["delivery_details"]["class"] == "express"
