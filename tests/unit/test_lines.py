"""The line arithmetic Checkout and Order Management share (`domain.lines`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kco_sandbox.domain.checkout.order import OrderLine
from kco_sandbox.domain.lines import LineAmounts, bad_line_field, tax_is_consistent
from kco_sandbox.domain.order_management.order import OmLine
from tests.factories import make_line


def om_line(**overrides: object) -> OmLine:
    return msgspec.convert(make_line(**overrides), OmLine)


def checkout_line(**overrides: object) -> OrderLine:
    return msgspec.convert(make_line(**overrides), OrderLine)


Build = Callable[..., LineAmounts]
DISCOUNT: dict[str, Any] = {
    "type": "discount",
    "name": "Rebate",
    "reference": None,
    "quantity": 1,
    "unit_price": -1000,
    "total_amount": -1000,
    "total_tax_amount": -91,
}


@pytest.mark.parametrize("build", [om_line, checkout_line], ids=["om", "checkout"])
def test_a_line_that_adds_up_passes(build: Build) -> None:
    assert bad_line_field(build()) is None
    assert bad_line_field(build(**DISCOUNT)) is None
    discounted = build(total_discount_amount=5000, total_amount=45000, total_tax_amount=4091)
    assert bad_line_field(discounted) is None


@pytest.mark.parametrize("build", [om_line, checkout_line], ids=["om", "checkout"])
@pytest.mark.parametrize("line_type", ["physical", "discount", "shipping_fee", None])
def test_the_total_is_checked_whatever_the_line_type(build: Build, line_type: str | None) -> None:
    wrong = {**DISCOUNT, "type": line_type, "total_amount": -2000, "total_tax_amount": -182}
    assert bad_line_field(build(**wrong)) == "total_amount"
    forgot_discount = build(type=line_type, total_discount_amount=1000)
    assert bad_line_field(forgot_discount) == "total_amount"


def test_the_total_is_reported_before_the_tax() -> None:
    assert bad_line_field(om_line(total_amount=1, total_tax_amount=4545)) == "total_amount"


def test_a_wrong_tax_is_reported_unless_the_caller_skips_it() -> None:
    line = om_line(total_tax_amount=5000)
    assert bad_line_field(line) == "total_tax_amount"
    assert bad_line_field(line, check_tax=False) is None


@pytest.mark.parametrize("missing", ["tax_rate", "total_tax_amount"])
def test_the_tax_is_checked_only_when_both_tax_fields_are_given(missing: str) -> None:
    line = om_line(**{"total_tax_amount": 5000, missing: None})
    assert bad_line_field(line) is None


@given(
    quantity=st.integers(min_value=0, max_value=1000),
    unit_price=st.integers(min_value=-100_000, max_value=100_000),
    discount=st.integers(min_value=0, max_value=10_000),
    off_by=st.integers(min_value=-5, max_value=5),
    rate=st.integers(min_value=0, max_value=10_000),
)
def test_the_total_rule_is_exactly_quantity_times_price_less_discount(
    quantity: int, unit_price: int, discount: int, off_by: int, rate: int
) -> None:
    total = quantity * unit_price - discount + off_by
    # The exact included tax, rounded: always within the tolerance, so only the total can fail.
    tax = round(total * rate / (10_000 + rate))
    assert tax_is_consistent(total, rate, tax)
    line = OmLine(
        name="x",
        quantity=quantity,
        unit_price=unit_price,
        total_discount_amount=discount,
        total_amount=total,
        tax_rate=rate,
        total_tax_amount=tax,
    )
    assert bad_line_field(line) == (None if off_by == 0 else "total_amount")
