"""The order the bench creates: a Swedish web-shop order, its amounts and taxes consistent."""

from __future__ import annotations

import json
from typing import Any


def _tax(total_amount: int, tax_rate: int) -> int:
    """The tax included in `total_amount` at `tax_rate` (1/100 %), rounded to the minor unit."""
    return round(total_amount * tax_rate / (10000 + tax_rate))


def _line(
    *,
    kind: str,
    reference: str,
    name: str,
    quantity: int,
    unit_price: int,
    tax_rate: int,
    discount: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    total = quantity * unit_price - discount
    return {
        "type": kind,
        "reference": reference,
        "name": name,
        "quantity": quantity,
        "quantity_unit": "st",
        "unit_price": unit_price,
        "tax_rate": tax_rate,
        "total_amount": total,
        "total_discount_amount": discount,
        "total_tax_amount": _tax(total, tax_rate),
        **extra,
    }


def order_body() -> dict[str, Any]:
    """A Swedish web-shop order: two products, shipping and a discount code (~1.5 KB)."""
    shop = "https://shop.example"
    lines = [
        _line(
            kind="physical",
            reference="SW-1042-NAVY-M",
            name="Merinoulltröja, marinblå, M",
            quantity=2,
            unit_price=89900,
            tax_rate=2500,
            discount=10000,
            product_url=f"{shop}/p/merinoulltroja",
            product_identifiers={
                "brand": "Fjällull",
                "category_path": "Kläder > Tröjor > Ull",
                "global_trade_item_number": "7350012345678",
            },
        ),
        _line(
            kind="physical",
            reference="SK-220-GRY",
            name="Ullstrumpor 3-pack, grå",
            quantity=3,
            unit_price=14900,
            tax_rate=2500,
            product_url=f"{shop}/p/ullstrumpor",
        ),
        _line(
            kind="shipping_fee",
            reference="SHIP-PN-HOME",
            name="PostNord Hemleverans",
            quantity=1,
            unit_price=4900,
            tax_rate=2500,
        ),
        _line(
            kind="discount",
            reference="HOST10",
            name="Rabattkod HOST10",
            quantity=1,
            unit_price=-5000,
            tax_rate=2500,
        ),
    ]
    return {
        "purchase_country": "SE",
        "purchase_currency": "SEK",
        "locale": "sv-SE",
        "order_amount": sum(line["total_amount"] for line in lines),
        "order_tax_amount": sum(line["total_tax_amount"] for line in lines),
        "order_lines": lines,
        "merchant_reference1": "SO-2024-000123",
        "merchant_urls": {
            "terms": f"{shop}/villkor",
            "checkout": f"{shop}/kassa?order_id={{checkout.order.id}}",
            "confirmation": f"{shop}/bekraftelse?order_id={{checkout.order.id}}",
            "push": f"{shop}/api/kco/push?order_id={{checkout.order.id}}",
        },
    }


def encoded_body() -> bytes:
    """The body as a client sends it: compact UTF-8 JSON."""
    return json.dumps(order_body(), ensure_ascii=False, separators=(",", ":")).encode()
