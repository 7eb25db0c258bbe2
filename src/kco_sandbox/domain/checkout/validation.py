"""The rules between fields that the vendor enforces on every create and update.

Order of checks follows what the vendor reports first: each line's arithmetic, then the order's
sums, then the market (country, currency, locale), then callback URL schemes. The first broken
rule is reported, as the real service does. Line arithmetic (`domain.lines`, shared with Order
Management) errors name the bare field (`Bad value: total_amount`), exactly as recorded from the
vendor's playground.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from kco_sandbox.domain.checkout.order import CheckoutOrder, OrderLine
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.lines import bad_line_field
from kco_sandbox.domain.market import Market, check_market

HTTPS_ONLY_URLS = ("validation", "address_update", "shipping_option_update", "country_change")
SALES_TAX = "sales_tax"
DISCOUNT = "discount"


def check_line(line: OrderLine, sales_tax_model: bool) -> None:
    """Raise `BadValue` (bare field name) for the first amount of `line` that is wrong."""
    # A positive discount line and a total that does not add up are both `total_amount`, so
    # which is checked first does not change the answer.
    if line.type == DISCOUNT and line.total_amount > 0:
        raise BadValue("total_amount")
    # In the sales-tax model line taxes are zero, so the tax formula does not apply.
    bad = bad_line_field(line, check_tax=not sales_tax_model)
    if bad is not None:
        raise BadValue(bad)
    if sales_tax_model and line.total_tax_amount != 0:
        raise BadValue("total_tax_amount")


def check_order(
    order: CheckoutOrder, markets: Mapping[str, Market], allow_http_callbacks: bool
) -> None:
    """Raise `BadValue` for the first rule `order` breaks."""
    # The US model: line taxes are zero and the tax travels as its own `sales_tax` line.
    sales_tax_model = any(line.type == SALES_TAX for line in order.order_lines)
    for line in order.order_lines:
        check_line(line, sales_tax_model)
    if order.order_amount != sum(line.total_amount for line in order.order_lines):
        raise BadValue("order_amount")
    if sales_tax_model:
        tax = sum(line.total_amount for line in order.order_lines if line.type == SALES_TAX)
    else:
        tax = sum(line.total_tax_amount for line in order.order_lines)
    if order.order_tax_amount != tax:
        raise BadValue("order_tax_amount")
    check_market(markets, order.purchase_country, order.purchase_currency, order.locale)
    allowed_schemes = ("http", "https") if allow_http_callbacks else ("https",)
    for name in HTTPS_ONLY_URLS:
        url = getattr(order.merchant_urls, name)
        if url is not None and urlsplit(url).scheme.lower() not in allowed_schemes:
            raise BadValue(f"merchant_urls.{name}")
