"""Plain builders of valid requests and merchants; tests override only what they are about."""

from __future__ import annotations

import copy
from typing import Any

from kco_sandbox.domain.merchant import Merchant

MERCHANT = Merchant("PK0001_test", "kco_test_api_first", "First Store")
OTHER_MERCHANT = Merchant("PK0002_test", "kco_test_api_second", "Second Store", ("DE", "AT"))

_LINE: dict[str, Any] = {
    "type": "physical",
    "reference": "19-402",
    "name": "T-Shirt",
    "quantity": 5,
    "quantity_unit": "pcs",
    "unit_price": 10000,
    "tax_rate": 1000,
    "total_amount": 50000,
    "total_discount_amount": 0,
    "total_tax_amount": 4545,
}

_ORDER: dict[str, Any] = {
    "purchase_country": "SE",
    "purchase_currency": "SEK",
    "locale": "en-SE",
    "order_amount": 50000,
    "order_tax_amount": 4545,
    "order_lines": [_LINE],
    "merchant_urls": {
        "terms": "https://shop.example/terms",
        "checkout": "https://shop.example/checkout?id={checkout.order.id}",
        "confirmation": "https://shop.example/confirmation?id={checkout.order.id}",
        "push": "https://shop.example/push?id={checkout.order.id}",
    },
}


def make_line(**overrides: Any) -> dict[str, Any]:
    return {**copy.deepcopy(_LINE), **overrides}


def make_order(**overrides: Any) -> dict[str, Any]:
    return {**copy.deepcopy(_ORDER), **overrides}
