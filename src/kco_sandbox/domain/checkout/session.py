"""What the shopper does with a checkout order, kept beside the merchant's document.

The merchant's document (`order.CheckoutOrder`) holds what the merchant wrote; the session holds
what the shopper entered and what the platform decided. The order a merchant reads combines both
(see `effective.effective_order`): the shopper's addresses win over the merchant's prefill, and a
shipping option chosen in the checkout adds its `shipping_fee` line.
"""

from __future__ import annotations

from datetime import datetime

from kco_sandbox.domain.checkout.order import Address, Customer, Doc, ShippingOption


class Session(Doc):
    email: str | None = None
    postal_code: str | None = None
    signed_up: bool = False
    customer: Customer | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    national_identification_number: str | None = None
    selected_shipping_option: ShippingOption | None = None
    # True when the platform prices the chosen option itself (no shipping_option_update URL).
    platform_shipping: bool = False
    payment_method: str | None = None
    checkboxes: dict[str, bool] | None = None
    fraud_status: str | None = None  # ACCEPTED or PENDING once authorized
    pending_decision: str | None = None  # "accept" or "reject"
    decision_due_at: datetime | None = None
    recurring_token: str | None = None
    # While a merchant callback is in flight the merchant may not change the order.
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until
