"""The demo shop's cart: its one product, priced per market, and the checkout order it becomes.

Pure functions, no I/O: what a shop's own pricing code would hold. Amounts are in minor units and
every tax amount follows the vendor's formula, `round(amount * tax_rate / (10000 + tax_rate))`, so
the order passes the Checkout API's arithmetic checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

PRODUCT_NAME: Final = "T-shirt"
PRODUCT_REFERENCE: Final = "DEMO-TSHIRT-01"
MAX_QUANTITY: Final = 10
HOME_DELIVERY_ID: Final = "home-delivery"
PICKUP_ID: Final = "pickup-point"


class BadQuantity(ValueError):
    """The quantity a shopper sent is not a whole number from 1 to `MAX_QUANTITY`."""

    def __init__(self) -> None:
        super().__init__(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")


@dataclass(frozen=True, slots=True)
class Offer:
    """The T-shirt as sold in one market: where, in which currency and language, at what price."""

    country: str
    currency: str
    locale: str
    unit_price: int  # minor units, tax included
    tax_rate: int  # basis points: 2500 = 25 %
    delivery_price: int  # home delivery, minor units, tax included


# A shop sells where its merchant account may sell: Sweden first, as the vendor's playground does.
OFFERS: Final[dict[str, Offer]] = {
    o.country: o
    for o in (
        Offer("SE", "SEK", "sv-SE", 24900, 2500, 4900),
        Offer("NO", "NOK", "nb-NO", 24900, 2500, 4900),
        Offer("DK", "DKK", "da-DK", 19900, 2500, 3900),
        Offer("FI", "EUR", "fi-FI", 2490, 2550, 490),
        Offer("DE", "EUR", "de-DE", 2490, 1900, 490),
        Offer("AT", "EUR", "de-AT", 2490, 2000, 490),
        Offer("NL", "EUR", "nl-NL", 2490, 2100, 490),
        Offer("GB", "GBP", "en-GB", 2000, 2000, 395),
        Offer("US", "USD", "en-US", 2500, 0, 500),
    )
}


# Where else the shop sells, should its account be limited to such a market: the market's
# currency, in English, at one flat price. These are the rest of the vendor's markets; a country
# in neither table gets the Swedish offer, as an account that may sell everywhere does.
FLAT_PRICE_CURRENCIES: Final[dict[str, str]] = {
    "AU": "AUD",
    "BE": "EUR",
    "CA": "CAD",
    "CH": "CHF",
    "CZ": "CZK",
    "ES": "EUR",
    "FR": "EUR",
    "GR": "EUR",
    "IE": "EUR",
    "IT": "EUR",
    "NZ": "NZD",
    "PL": "PLN",
    "PT": "EUR",
}


def offer_for(markets: tuple[str, ...] | None) -> Offer:
    """The offer for the account's first market (Sweden when it may sell everywhere)."""
    countries = markets or ("SE",)
    for country in countries:
        offer = OFFERS.get(country.upper())
        if offer is not None:
            return offer
    first = countries[0].upper()
    currency = FLAT_PRICE_CURRENCIES.get(first)
    if currency is None:
        return OFFERS["SE"]
    return Offer(first, currency, f"en-{first}", 2490, 2000, 490)


def parse_quantity(text: str | None) -> int:
    """The quantity from a form field, or `BadQuantity`."""
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 3:
        raise BadQuantity()
    quantity = int(value)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise BadQuantity()
    return quantity


def tax_of(amount: int, tax_rate: int) -> int:
    """The tax included in `amount`: `amount * rate / (10000 + rate)`, rounded half up."""
    denominator = 10000 + tax_rate
    return (2 * amount * tax_rate + denominator) // (2 * denominator)


def money(amount: int, currency: str) -> str:
    """`24900, "SEK"` → `"249.00 SEK"`."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d} {currency}"


def vat_label(tax_rate: int) -> str:
    """`2500` → `"25 %"`, `2550` → `"25.5 %"`."""
    whole, rest = divmod(tax_rate, 100)
    return f"{whole} %" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + " %"


def order_request(offer: Offer, quantity: int, shop_url: str) -> dict[str, Any]:
    """The body of `POST /checkout/v3/orders` for `quantity` T-shirts; `shop_url` is the shop's own.

    `{checkout.order.id}` in the merchant URLs is the vendor's placeholder: the platform puts the
    order id there when it calls or redirects.
    """
    total = offer.unit_price * quantity
    tax = tax_of(total, offer.tax_rate)
    line = {
        "type": "physical",
        "reference": PRODUCT_REFERENCE,
        "name": PRODUCT_NAME,
        "quantity": quantity,
        "quantity_unit": "pcs",
        "unit_price": offer.unit_price,
        "tax_rate": offer.tax_rate,
        "total_amount": total,
        "total_discount_amount": 0,
        "total_tax_amount": tax,
        "product_url": shop_url,
    }
    return {
        "purchase_country": offer.country,
        "purchase_currency": offer.currency,
        "locale": offer.locale,
        "order_amount": total,
        "order_tax_amount": tax,
        "order_lines": [line],
        "merchant_urls": {
            "terms": f"{shop_url}/terms",
            "checkout": f"{shop_url}/checkout?order_id={{checkout.order.id}}",
            "confirmation": f"{shop_url}/confirmation?order_id={{checkout.order.id}}",
            "push": f"{shop_url}/push?order_id={{checkout.order.id}}",
        },
        "shipping_options": [
            {
                "id": PICKUP_ID,
                "name": "Pick-up point",
                "description": "Collect at a pick-up point near you, free of charge",
                "price": 0,
                "tax_amount": 0,
                "tax_rate": offer.tax_rate,
                "shipping_method": "PickUpPoint",
            },
            {
                "id": HOME_DELIVERY_ID,
                "name": "Home delivery",
                "description": "Delivered to your door in 1-3 working days",
                "price": offer.delivery_price,
                "tax_amount": tax_of(offer.delivery_price, offer.tax_rate),
                "tax_rate": offer.tax_rate,
                "shipping_method": "Home",
                "preselected": True,
            },
        ],
    }
