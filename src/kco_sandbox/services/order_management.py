"""Order Management use-cases: every change goes through `change`, which owns the transaction.

`change` reads the order, applies a pure rule from `domain.om_rules`, and writes the result only if
no one else wrote the order meanwhile (else it tries again on the fresh order, so two captures
racing are judged one after the other). With an idempotency key, the first successful answer is
stored in the same transaction and returned for every repeat, which then changes nothing.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from kco_sandbox.clock import Clock
from kco_sandbox.domain.errors import NoSuchOrder
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management.order import OmOrder
from kco_sandbox.ids import IdFactory
from kco_sandbox.store.orders import (
    KeyAlreadyUsed,
    ManagementStore,
    Remember,
    StoredAnswer,
)

T = TypeVar("T")
MAX_ATTEMPTS = 50
_REFERENCE_ALPHABET = string.ascii_uppercase + string.digits

Rule = Callable[[OmOrder, datetime], tuple[OmOrder | None, T]]


def new_klarna_reference() -> str:
    """Seven upper-case letters and digits, like the vendor's customer-facing references."""
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(7))


@dataclass(frozen=True, slots=True)
class ManagementService:
    orders: ManagementStore
    clock: Clock
    new_id: IdFactory

    def get(self, merchant: Merchant, order_id: str) -> OmOrder:
        found = self.orders.get(order_id)
        if found is None or found[0].merchant_id != merchant.merchant_id:
            raise NoSuchOrder(f"Order {order_id} not found")
        return found[0]

    def change(
        self,
        merchant: Merchant,
        order_id: str,
        rule: Rule[T],
        answer: Callable[[T], StoredAnswer],
        idempotency_key: str | None = None,
    ) -> StoredAnswer:
        """Apply `rule` (which returns the new order, or None for no change, and a result)."""
        if idempotency_key:
            stored = self.orders.answer_for(merchant.merchant_id, idempotency_key)
            if stored is not None:
                return stored
        for _ in range(MAX_ATTEMPTS):
            found = self.orders.get(order_id)
            if found is None or found[0].merchant_id != merchant.merchant_id:
                raise NoSuchOrder(f"Order {order_id} not found")
            order, version = found
            now = self.clock.now()
            changed, result = rule(order, now)
            reply = answer(result)
            remember = (
                Remember(merchant.merchant_id, idempotency_key, reply, now)
                if idempotency_key
                else None
            )
            try:
                if changed is None:
                    if remember is not None:
                        self.orders.remember(remember)
                    return reply
                if self.orders.save(changed, version, remember):
                    return reply
            except KeyAlreadyUsed:
                stored = self.orders.answer_for(merchant.merchant_id, idempotency_key or "")
                if stored is not None:
                    return stored
        raise RuntimeError(f"order {order_id} kept changing under {MAX_ATTEMPTS} attempts")
