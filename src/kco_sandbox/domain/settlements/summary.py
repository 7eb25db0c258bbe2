"""`/payouts/summary`: the payouts of a date range summed up, one summary per currency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kco_sandbox.domain.settlements.ledger import Totals

# The Totals fields a summary sums (each as `summary_total_<field>`), in the vendor's order.
SUMMED = (
    "sale_amount",
    "return_amount",
    "reversal_amount",
    "fee_amount",
    "fee_correction_amount",
    "tax_amount",
    "commission_amount",
    "holdback_amount",
    "release_amount",
    "repay_amount",
    "settlement_amount",
)


@dataclass(frozen=True, slots=True)
class Summary:
    currency: str
    first_payout: datetime  # the earliest payout date in the range
    last_payout: datetime
    sums: dict[str, int]  # SUMMED field → total


def summarize(payouts: Iterable[tuple[str, datetime, Totals]]) -> list[Summary]:
    """One summary per currency of (currency, payout date, totals), by currency code."""
    by_currency: dict[str, list[tuple[datetime, Totals]]] = {}
    for currency, date, totals in payouts:
        by_currency.setdefault(currency, []).append((date, totals))
    return [
        Summary(
            currency=currency,
            first_payout=min(date for date, _ in members),
            last_payout=max(date for date, _ in members),
            sums={name: sum(getattr(t, name) for _, t in members) for name in SUMMED},
        )
        for currency, members in sorted(by_currency.items())
    ]
