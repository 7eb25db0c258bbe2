"""Payouts and their transactions as the store keeps them and the API reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from kco_sandbox.domain.settlements.ledger import Totals, Transaction

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Payout:
    payment_reference: str
    merchant_id: str
    currency_code: str
    payout_date: datetime
    totals: Totals


@dataclass(frozen=True, slots=True)
class SettledTransaction:
    """A transaction and the payout that holds it."""

    payment_reference: str
    payout_date: datetime
    transaction: Transaction


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, and how many the whole list holds."""

    items: list[T]
    total: int
