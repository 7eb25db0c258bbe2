"""The merchant's side of a synchronous checkout callback: what is sent, and what an answer means.

Shipping-service callbacks (`address_update`, `country_change`, `shipping_option_update`) and the
`validation` callback, as the vendor's callback OpenAPI file defines them:

- `200`: for shipping-service callbacks the cart in the body replaces ours; for validation the
  purchase goes on.
- `301/302/303/307` with `Location`: the shopper is sent there.
- `400 {error_type, error_text}`: the text is shown; no change (or no purchase).
- No answer in time: shipping-service callbacks fail; validation approves, unless
  `require_validate_callback_success` is set, when it fails.
- Anything else, or no connection: the step fails with a generic error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

import msgspec
from msgspec import Meta

from kco_sandbox.domain.checkout.order import (
    MAX_ORDER_LINES,
    Attachment,
    Doc,
    OrderLine,
    PaymentProvider,
    ShippingOption,
)

REDIRECTS: Final = frozenset({301, 302, 303, 307})


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back from one HTTP call to the merchant."""

    status: int | None  # None when no HTTP answer arrived
    body: bytes = b""
    location: str | None = None
    timed_out: bool = False
    error: str | None = None  # why no answer arrived


class CartUpdate(Doc, kw_only=True):
    order_amount: Annotated[int, Meta(ge=0)]
    order_tax_amount: Annotated[int, Meta(ge=0)]
    order_lines: Annotated[list[OrderLine], Meta(max_length=MAX_ORDER_LINES)]
    purchase_currency: Annotated[str, Meta(pattern=r"^[A-Za-z]{3}$")]
    merchant_data: Annotated[str, Meta(max_length=1024)] | None = None
    shipping_options: list[ShippingOption] | None = None
    attachment: Attachment | None = None
    locale: Annotated[str, Meta(pattern=r"^[A-Za-z]{2}(?:-[A-Za-z]{2})*$")] | None = None
    external_payment_methods: list[PaymentProvider] | None = None
    tags: list[str] | None = None


class ErrorAnswer(Doc, kw_only=True):
    error_type: str
    error_text: str | None = None


@dataclass(frozen=True, slots=True)
class Proceed:
    cart: CartUpdate | None = None


@dataclass(frozen=True, slots=True)
class Redirect:
    url: str


@dataclass(frozen=True, slots=True)
class Refused:
    error_type: str
    error_text: str


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str


Decision = Proceed | Redirect | Refused | Failed


def _common(answer: Answer) -> Decision | None:
    """The rules shared by every callback: redirects and 400 refusals."""
    if answer.status in REDIRECTS:
        if not answer.location:
            return Failed(f"the merchant answered {answer.status} without a Location header")
        return Redirect(answer.location)
    if answer.status == 400:
        try:
            error = msgspec.json.decode(answer.body, type=ErrorAnswer)
        except msgspec.DecodeError:
            return Failed("the merchant answered 400 without an {error_type, error_text} body")
        return Refused(error.error_type, error.error_text or "")
    return None


def judge_cart_answer(answer: Answer) -> Decision:
    """An `address_update`, `country_change` or `shipping_option_update` answer."""
    if answer.status is None:
        return Failed(answer.error or "no answer")
    if answer.status == 200:
        try:
            return Proceed(msgspec.json.decode(answer.body, type=CartUpdate))
        except msgspec.DecodeError as exc:
            return Failed(f"the merchant's cart is not valid: {exc}")
    return _common(answer) or Failed(f"the merchant answered {answer.status}")


def judge_validation(answer: Answer, success_required: bool) -> Decision:
    """A `validation` answer; no answer in time approves unless success is required."""
    if answer.status is None:
        if answer.timed_out and not success_required:
            return Proceed()
        return Failed(answer.error or "no answer")
    if answer.status == 200:
        return Proceed()
    return _common(answer) or Failed(f"the merchant answered {answer.status}")


def shipping_service_request(order: dict[str, Any]) -> dict[str, Any]:
    """The body of a shipping-service callback, from the order as the merchant would read it."""
    keys = (
        "order_amount",
        "order_tax_amount",
        "order_lines",
        "purchase_currency",
        "billing_address",
        "shipping_address",
        "selected_shipping_option",
        "customer",
        "merchant_data",
        "merchant_reference1",
        "merchant_reference2",
        "locale",
        "tags",
    )
    return {key: order[key] for key in keys if key in order}
