"""What tests of the hosted checkout page share: a shopper's address, the checkout orders they
buy, the page as a browser gets it, and the form token its forms carry."""

from __future__ import annotations

import re
from typing import Any, Final

import httpx2
from starlette.testclient import TestClient

from tests.factories import make_order

ORDERS: Final = "/checkout/v3/orders"
NO_AUTH: Final = httpx2.Auth()  # the shopper's browser sends no credentials
TOKEN: Final = re.compile(r'<input type="hidden" name="form_token" value="([^"]+)">')
ADDRESS: Final = {
    "given_name": "Alva",
    "family_name": "Berg",
    "street_address": "Storgatan 2",
    "postal_code": "11122",
    "city": "Stockholm",
}


def create(client: TestClient, **overrides: Any) -> str:
    """A new checkout order of the client's merchant; its id."""
    response = client.post(ORDERS, json=make_order(**overrides))
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


def page(client: TestClient, order_id: str, query: str = "") -> str:
    """The hosted checkout page of `order_id`, as the shopper's browser gets it."""
    response = client.get(f"/kco/checkout/{order_id}{query}", auth=NO_AUTH)
    assert response.status_code == 200
    return response.text


def token_in(html: str) -> str:
    """The form token a page's forms carry ("" when there is none)."""
    found = TOKEN.search(html)
    return found.group(1) if found else ""


def step_of(html: str) -> str:
    found = re.search(r'<body data-step="([a-z]+)"', html)
    assert found is not None
    return found.group(1)
