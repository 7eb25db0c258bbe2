"""The Settlements API's CSV reports read back into rows: `parse_settlement_csv`.

The platform writes them semicolon-separated with a header row, CRLF line ends and RFC 4180
quoting, amounts in major units with a `.` (`-10.47`), as the vendor's CSV does. A row here is a
`dict` keyed by the header: the `amount` column and every `…_amount` column become `Decimal`s
(never floats, so a payout's rows sum to its amount exactly); every other cell stays the text
the report holds, including the `'` the platform puts before text a spreadsheet would run as a
formula (`'=SUM(A1)`): which cells got one cannot be told back for certain, so none is removed.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from typing import Any


def is_amount_column(name: str) -> bool:
    """`amount`, `total_sale_amount`, ...: the columns read as `Decimal`."""
    return name == "amount" or name.endswith("_amount")


def parse_settlement_csv(report: bytes | str) -> list[dict[str, Any]]:
    """The rows of a settlement CSV report (`payout_csv`, `payouts_csv`), in its order, each a
    `dict` from column name to cell; amount columns are `Decimal`. `ValueError` when `report`
    is not such a file (a row longer or shorter than the header, an amount that is no number)."""
    text = report.decode("utf-8-sig") if isinstance(report, bytes) else report.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return []
        amounts = [is_amount_column(name) for name in header]
        rows = []
        for line_number, cells in enumerate(reader, start=2):
            if len(cells) != len(header):
                raise ValueError(
                    f"line {line_number} has {len(cells)} cells, the header {len(header)}"
                )
            rows.append(
                {
                    name: _amount(cell, name, line_number) if amount else cell
                    for name, cell, amount in zip(header, cells, amounts, strict=True)
                }
            )
    except csv.Error as broken:
        raise ValueError(f"not a CSV report: {broken}") from None
    return rows


def _amount(cell: str, column: str, line_number: int) -> Decimal:
    try:
        value = Decimal(cell)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValueError(f"line {line_number}: {column} is {cell!r}, not an amount")
    return value
