"""The arithmetic every order line must satisfy, for Checkout and Order Management alike.

A line's `total_amount` is `quantity * unit_price - total_discount_amount`, and its
`total_tax_amount` is the tax included in that total at `tax_rate` (within one minor unit).
Checkout and Order Management differ only around this: which path an error names, Checkout's
rule that a discount line is never positive, its US sales-tax model, and Order Management
checking the tax only when both tax fields are given. Those stay with the callers.
"""

from __future__ import annotations

from typing import Literal, Protocol

LineField = Literal["total_amount", "total_tax_amount"]


class LineAmounts(Protocol):
    """The amounts of a line (a Checkout `OrderLine` or an Order Management `OmLine`)."""

    @property
    def quantity(self) -> int: ...
    @property
    def unit_price(self) -> int: ...
    @property
    def total_amount(self) -> int: ...
    @property
    def total_discount_amount(self) -> int | None: ...
    @property
    def tax_rate(self) -> int | None: ...
    @property
    def total_tax_amount(self) -> int | None: ...


def tax_is_consistent(total_amount: int, tax_rate: int, total_tax_amount: int) -> bool:
    """Is `total_tax_amount` within 1 of `total_amount - total_amount * 10000 / (10000 + rate)`?

    Integer form of the vendor's formula (tax included in the amount), so no float rounding:
    the exact tax is total * rate / (10000 + rate).
    """
    denominator = 10000 + tax_rate
    return abs(total_tax_amount * denominator - total_amount * tax_rate) <= denominator


def bad_line_field(line: LineAmounts, *, check_tax: bool = True) -> LineField | None:
    """The first field of `line` that does not follow from the others, or None if all add up.

    The total is checked on every line, whatever its `type` (a discount line too). The tax is
    checked when `check_tax` is set and the line carries both `tax_rate` and `total_tax_amount`.
    """
    if line.total_amount != line.quantity * line.unit_price - (line.total_discount_amount or 0):
        return "total_amount"
    if (
        check_tax
        and line.tax_rate is not None
        and line.total_tax_amount is not None
        and not tax_is_consistent(line.total_amount, line.tax_rate, line.total_tax_amount)
    ):
        return "total_tax_amount"
    return None
