"""A checkout order as the platform keeps it: the merchant's document plus what the platform owns.

Creating and updating share one path: the request body is merged onto what is stored (nothing for
a create), the result is decoded against the schema in `order.py` and checked by `validation.py`.
Merge rule: objects merge key by key, arrays and scalars sent replace what was stored, `null`
means "not given" and keeps the stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import msgspec

from kco_sandbox.domain.checkout.effective import without_platform_line
from kco_sandbox.domain.checkout.lifecycle import EXPIRES, Action, CheckoutStatus, require
from kco_sandbox.domain.checkout.order import READ_ONLY_FIELDS, CheckoutOrder
from kco_sandbox.domain.checkout.session import Session
from kco_sandbox.domain.checkout.validation import check_order
from kco_sandbox.domain.decoding import decode
from kco_sandbox.domain.errors import NotFound, OrderExpired, ReadOnlyOrder
from kco_sandbox.domain.market import Market

CHECKOUT_LIFETIME = timedelta(hours=48)
ORDERS_PATH = "/checkout/v3/orders"


def order_url(base_url: str, order_id: str) -> str:
    """The order's absolute URL in the Checkout API (`Location`, `{checkout.order.uri}`)."""
    return f"{base_url}{ORDERS_PATH}/{order_id}"


Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CheckoutRecord:
    order_id: str
    merchant_id: str
    status: CheckoutStatus
    order: CheckoutOrder
    started_at: datetime
    last_modified_at: datetime
    completed_at: datetime | None
    expires_at: datetime
    version: int = 1
    session: Session = field(default_factory=Session)

    def is_expired(self, now: datetime) -> bool:
        return self.status in EXPIRES and now >= self.expires_at

    def visible_to(self, merchant_id: str, now: datetime) -> CheckoutRecord:
        """This record as `merchant_id` may see it at `now`, or the vendor's not-found error."""
        if merchant_id != self.merchant_id:
            raise NotFound(f"Order {self.order_id} not found")
        if self.is_expired(now):
            raise OrderExpired()
        return self

    def with_order(self, order: CheckoutOrder, now: datetime) -> CheckoutRecord:
        """The merchant's update (a shipping line the platform added and a client sent back is
        dropped: the platform adds it again when the order is read)."""
        require(Action.UPDATE, self.status)
        if self.session.is_locked(now):
            raise ReadOnlyOrder("The order is locked while a merchant callback is in flight")
        return replace(
            self,
            order=without_platform_line(order, self.session),
            last_modified_at=now,
            expires_at=now + CHECKOUT_LIFETIME,
            version=self.version + 1,
        )

    def with_session(self, session: Session, now: datetime) -> CheckoutRecord:
        """The record after the shopper acted: a shopper's interaction renews the lifetime too."""
        require(Action.COMPLETE, self.status)
        return replace(
            self,
            session=session,
            last_modified_at=now,
            expires_at=now + CHECKOUT_LIFETIME,
            version=self.version + 1,
        )

    def with_cart(self, order: CheckoutOrder, now: datetime) -> CheckoutRecord:
        """The order after a merchant's callback answered with a new cart."""
        require(Action.COMPLETE, self.status)
        return replace(self, order=order, last_modified_at=now, version=self.version + 1)

    def completed(self, session: Session, order: CheckoutOrder, now: datetime) -> CheckoutRecord:
        """The record after an authorized purchase."""
        require(Action.COMPLETE, self.status)
        return replace(
            self,
            status=CheckoutStatus.CHECKOUT_COMPLETE,
            order=order,
            session=session,
            last_modified_at=now,
            completed_at=now,
            version=self.version + 1,
        )

    def aborted(self, now: datetime) -> CheckoutRecord:
        require(Action.ABORT, self.status)
        return replace(
            self,
            status=CheckoutStatus.ABORTED,
            last_modified_at=now,
            expires_at=now + CHECKOUT_LIFETIME,
            version=self.version + 1,
        )


def new_record(
    order_id: str, merchant_id: str, order: CheckoutOrder, now: datetime
) -> CheckoutRecord:
    return CheckoutRecord(
        order_id=order_id,
        merchant_id=merchant_id,
        status=CheckoutStatus.CHECKOUT_INCOMPLETE,
        order=order,
        started_at=now,
        last_modified_at=now,
        completed_at=None,
        expires_at=now + CHECKOUT_LIFETIME,
    )


def merge(stored: Mapping[str, Any], patch: Mapping[str, Any]) -> Json:
    """`stored` with `patch` laid over it (see the module docstring for the rule)."""
    merged = dict(stored)
    for key, value in patch.items():
        if value is None:
            continue
        old = merged.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            merged[key] = merge(old, value)
        else:
            merged[key] = value
    return merged


def build_order(
    stored: Mapping[str, Any],
    patch: Mapping[str, Any],
    markets: Mapping[str, Market],
    allow_http_callbacks: bool,
) -> CheckoutOrder:
    """Merge, decode and check: the one way a merchant's body becomes a checkout order."""
    writable = {k: v for k, v in patch.items() if k not in READ_ONLY_FIELDS}
    order = decode(merge(stored, writable), CheckoutOrder)
    check_order(order, markets, allow_http_callbacks)
    return normalised(order)


def normalised(order: CheckoutOrder) -> CheckoutOrder:
    """Country codes are answered in lower case and currencies in upper case, as the vendor does."""
    return msgspec.structs.replace(
        order,
        purchase_country=order.purchase_country.lower(),
        purchase_currency=order.purchase_currency.upper(),
    )


def as_document(order: CheckoutOrder) -> Json:
    """The stored form of an order: plain JSON values, unset fields left out."""
    document: Json = msgspec.to_builtins(order)
    return document
