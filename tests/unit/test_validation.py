from __future__ import annotations

import msgspec
import pytest
from starlette.testclient import TestClient

from kco_sandbox.domain.checkout.order import CheckoutOrder
from kco_sandbox.domain.checkout.validation import check_order
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.lines import tax_is_consistent
from kco_sandbox.domain.market import VENDOR_MARKETS, check_market, markets_for
from tests.factories import make_line, make_order


def order(**overrides: object) -> CheckoutOrder:
    return msgspec.convert(make_order(**overrides), CheckoutOrder)


def reason(o: CheckoutOrder, allow_http: bool = True) -> str:
    with pytest.raises(BadValue) as info:
        check_order(o, VENDOR_MARKETS, allow_http)
    return info.value.messages[0]


@pytest.mark.parametrize(
    ("total", "rate", "tax", "ok"),
    [
        (50000, 1000, 4545, True),  # the vendor's own example: 10 % of 50000 incl. tax
        (50000, 1000, 4546, True),  # within one minor unit
        (50000, 1000, 4544, False),  # 1.45 away from the exact 4545.45
        (50000, 1000, 5000, False),  # 10 % added on top is the classic mistake
        (10000, 2500, 2000, True),
        (10000, 2500, 2002, False),
        (0, 2500, 0, True),
        (-1000, 2500, -200, True),  # discount lines carry negative tax
        (-1000, 2500, 200, False),
        (9900, 0, 0, True),
        (9900, 0, 1, True),
        (9900, 0, 2, False),
    ],
)
def test_tax_tolerance_is_one_minor_unit(total: int, rate: int, tax: int, ok: bool) -> None:
    assert tax_is_consistent(total, rate, tax) is ok


def test_a_valid_order_passes() -> None:
    check_order(order(), VENDOR_MARKETS, allow_http_callbacks=False)


def test_line_total_must_subtract_the_discount() -> None:
    line = make_line(total_discount_amount=1000)
    assert reason(order(order_lines=[line])) == "Bad value: total_amount"


def test_discounted_line_that_adds_up_passes() -> None:
    line = make_line(total_discount_amount=5000, total_amount=45000, total_tax_amount=4091)
    check_order(
        order(order_lines=[line], order_amount=45000, order_tax_amount=4091),
        {"SE": VENDOR_MARKETS["SE"]},
        True,
    )


def test_line_tax_off_by_more_than_one_is_rejected() -> None:
    line = make_line(total_tax_amount=5000)
    assert reason(order(order_lines=[line], order_tax_amount=5000)) == "Bad value: total_tax_amount"


def test_discount_line_must_be_negative() -> None:
    discount = make_line(
        type="discount",
        name="Rebate",
        quantity=1,
        unit_price=1000,
        total_amount=1000,
        total_tax_amount=91,
        reference=None,
    )
    lines = [make_line(), discount]
    o = order(order_lines=lines, order_amount=51000, order_tax_amount=4636)
    assert reason(o) == "Bad value: total_amount"


def test_negative_discount_line_counts_in_the_sums() -> None:
    discount = make_line(
        type="discount",
        name="Rebate",
        quantity=1,
        unit_price=-1000,
        total_amount=-1000,
        total_tax_amount=-91,
    )
    o = order(order_lines=[make_line(), discount], order_amount=49000, order_tax_amount=4454)
    check_order(o, VENDOR_MARKETS, True)


def wrong_discount_line() -> dict[str, object]:
    """A discount line whose total is not `quantity * unit_price` (-2000 for 1 x -1000)."""
    return make_line(
        type="discount",
        name="Rebate",
        reference=None,
        quantity=1,
        unit_price=-1000,
        total_amount=-2000,
        total_tax_amount=-182,  # consistent with -2000 at 10 %: only the total is wrong
    )


# With the wrong discount line, the order's sums still add up: only the line arithmetic fails.
WRONG_DISCOUNT_ORDER = {
    "order_lines": [make_line(), wrong_discount_line()],
    "order_amount": 48000,
    "order_tax_amount": 4363,
}


def test_discount_line_arithmetic_is_checked_too() -> None:
    assert reason(order(**WRONG_DISCOUNT_ORDER)) == "Bad value: total_amount"


def test_a_discount_line_that_does_not_add_up_is_refused_on_create_and_update(
    client: TestClient,
) -> None:
    created = client.post("/checkout/v3/orders", json=make_order(**WRONG_DISCOUNT_ORDER))
    assert created.status_code == 400, created.text
    assert created.json()["error_messages"] == ["Bad value: total_amount"]
    good = client.post("/checkout/v3/orders", json=make_order())
    assert good.status_code == 201, good.text
    url = f"/checkout/v3/orders/{good.json()['order_id']}"
    updated = client.post(url, json=WRONG_DISCOUNT_ORDER)
    assert updated.status_code == 400, updated.text
    assert updated.json()["error_messages"] == ["Bad value: total_amount"]
    assert client.get(url).json() == good.json()


def test_order_amount_must_be_the_sum_of_lines() -> None:
    assert reason(order(order_amount=49999)) == "Bad value: order_amount"


def test_order_tax_amount_must_be_the_sum_of_line_taxes() -> None:
    assert reason(order(order_tax_amount=4546)) == "Bad value: order_tax_amount"


def us_order(**overrides: object) -> CheckoutOrder:
    item = make_line(tax_rate=0, total_tax_amount=0)
    tax = make_line(
        type="sales_tax",
        name="Sales Tax",
        reference=None,
        quantity=1,
        unit_price=4000,
        tax_rate=0,
        total_amount=4000,
        total_tax_amount=0,
    )
    body = {
        "purchase_country": "US",
        "purchase_currency": "USD",
        "locale": "en-US",
        "order_lines": [item, tax],
        "order_amount": 54000,
        "order_tax_amount": 4000,
        **overrides,
    }
    return order(**body)


def test_us_sales_tax_travels_as_its_own_line() -> None:
    check_order(us_order(), VENDOR_MARKETS, True)


def test_us_sales_tax_model_wants_zero_line_taxes() -> None:
    item = make_line(tax_rate=0, total_tax_amount=10)
    tax = make_line(
        type="sales_tax",
        name="Sales Tax",
        quantity=1,
        unit_price=4000,
        tax_rate=0,
        total_amount=4000,
        total_tax_amount=0,
    )
    o = us_order(order_lines=[item, tax])
    assert reason(o) == "Bad value: total_tax_amount"


def test_us_order_tax_amount_is_the_sales_tax_line() -> None:
    assert reason(us_order(order_tax_amount=0)) == "Bad value: order_tax_amount"


@pytest.mark.parametrize(
    ("country", "currency", "locale", "problem"),
    [
        ("SE", "SEK", "sv-SE", None),
        ("se", "sek", "sv-se", None),
        ("SE", "SEK", "en-SE", None),  # the vendor's own create-order example
        ("FI", "EUR", "sv-FI", None),
        ("US", "USD", "en-US", None),
        ("SE", "SEK", "en-US", "locale"),
        ("SE", "SEK", "de-SE", "locale"),
        ("SE", "SEK", "sv", "locale"),
        ("SE", "EUR", "sv-SE", "purchase_currency"),
        ("XX", "SEK", "sv-SE", "purchase_country"),
    ],
)
def test_market_rules(country: str, currency: str, locale: str, problem: str | None) -> None:
    if problem is None:
        check_market(VENDOR_MARKETS, country, currency, locale)
        return
    with pytest.raises(BadValue) as info:
        check_market(VENDOR_MARKETS, country, currency, locale)
    assert info.value.messages == [f"Bad value: {problem}"]


def test_a_merchant_limited_to_some_markets_cannot_sell_elsewhere() -> None:
    markets = markets_for(("DE", "AT"))
    check_market(markets, "DE", "EUR", "de-DE")
    with pytest.raises(BadValue, match="purchase_country"):
        check_market(markets, "SE", "SEK", "sv-SE")


def test_unknown_configured_market_is_refused() -> None:
    with pytest.raises(ValueError, match="XX"):
        markets_for(("XX",))


def test_callback_urls_must_be_https_unless_http_is_allowed() -> None:
    urls = make_order()["merchant_urls"] | {"validation": "http://localhost:3000/validate"}
    o = order(merchant_urls=urls)
    check_order(o, VENDOR_MARKETS, allow_http_callbacks=True)
    assert reason(o, allow_http=False) == "Bad value: merchant_urls.validation"


def test_callback_urls_need_a_web_scheme_even_when_http_is_allowed() -> None:
    urls = make_order()["merchant_urls"] | {"address_update": "ftp://shop.example/a"}
    assert reason(order(merchant_urls=urls)) == "Bad value: merchant_urls.address_update"


def test_push_url_may_be_http() -> None:
    urls = make_order()["merchant_urls"] | {"push": "http://localhost/push"}
    check_order(order(merchant_urls=urls), VENDOR_MARKETS, allow_http_callbacks=False)
