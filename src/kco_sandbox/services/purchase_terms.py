"""What the purchase use case (`purchase.py`) takes and gives: the headless purchase's request,
a completion, the merchant callbacks' time-outs, the payment methods a shopper may pick."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from kco_sandbox.domain.checkout.order import Address, Doc
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.purchase.persona import DEFAULT_EMAIL

PAYMENT_METHODS = ("invoice", "card", "part_payment", "direct_debit")
# A recurring order offers no financing, as the vendor's: pay later, card and direct debit only.
FINANCING = frozenset({"part_payment"})


def payment_methods_for(recurring: bool | None) -> tuple[str, ...]:
    """The methods a shopper may pick on an order (`recurring` is the order's flag)."""
    return tuple(m for m in PAYMENT_METHODS if not (recurring and m in FINANCING))


@dataclass(frozen=True, slots=True)
class CallbackTimeouts:
    """Seconds to wait for the merchant (the defaults are the `Settings` ones)."""

    shipping_service: float
    validation: float
    validation_success_required: float


@dataclass(frozen=True, slots=True)
class Completion:
    record: CheckoutRecord
    redirect_url: str


class CompleteRequest(Doc):
    """Everything the shopper would enter, for completing a checkout without a browser (the
    body of `POST /_sandbox/orders/{order_id}/complete`)."""

    email: str = DEFAULT_EMAIL
    billing_address: Address | None = None
    shipping_address: Address | None = None
    shipping_option_id: str | None = None
    payment_method: str = "invoice"
    checkboxes: dict[str, bool] = msgspec.field(default_factory=dict)
    date_of_birth: str | None = None
    national_identification_number: str | None = None
