"""Customer tokens (recurring payments): minting, who may use one, and charging it.

A token is minted when a checkout order created with `recurring: true` completes (its
`recurring_token`); it keeps what the shopper gave at that checkout, so a later charge
(`POST /customer-token/v1/tokens/{token}/order`) opens an Order Management order for the same
shopper without the shopper present. The charge's order is opened by the same code as a
completed checkout's (`order_management.opening.open_order`), from a record built here.

The shopper's persona e-mail decides each charge as it decided the checkout
(`purchase.persona`); one tag is the token's own: `name+token-denied@domain` completes the
checkout normally and every charge of its token is declined (`403 PAYMENT_METHOD_FAILED`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.order import (
    Address,
    Attachment,
    CheckoutOrder,
    Customer,
    Doc,
    MerchantUrls,
    Options,
    OrderLine,
    ProductIdentifiers,
    Subscription,
)
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.checkout.session import Session
from kco_sandbox.domain.errors import (
    BadValue,
    PaymentMethodCurrencyMismatch,
    PaymentMethodFailed,
    TokenCancelled,
    TokenForbidden,
    TokenSuspended,
)
from kco_sandbox.domain.lines import bad_line_field
from kco_sandbox.domain.purchase.persona import Outcome, persona_for

# The tag of a persona whose token charges are declined (the checkout itself is approved).
DENIED_CHARGE_TAG: Final = "+token-denied@"


class TokenStatus(StrEnum):
    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"  # by the merchant; final
    SUSPENDED = "SUSPENDED"  # by the platform (the sandbox control API here)


# The checkout's payment method, as the token names it. Financing is not offered on recurring
# orders (the vendor removes it), so a part-payment purchase is taken as the invoice it falls
# back to: an inference, changed here.
PAYMENT_METHOD_TYPES: Final[dict[str, str]] = {
    "invoice": "INVOICE",
    "card": "CARD",
    "direct_debit": "DIRECT_DEBIT",
    "part_payment": "INVOICE",
}
# `authorized_payment_method.type` of a charge, by the token's method (the OpenAPI enum).
AUTHORIZED_TYPES: Final[dict[str, str]] = {
    "INVOICE": "invoice",
    "CARD": "card",
    "DIRECT_DEBIT": "direct_debit",
}


class TokenDetails(Doc):
    """What the shopper gave at the minting checkout, and what a read shows of the method."""

    purchase_country: str
    purchase_currency: str
    locale: str
    billing_address: Address | None = None
    shipping_address: Address | None = None
    customer: Customer | None = None
    national_identification_number: str | None = None
    card: dict[str, str] | None = None
    direct_debit: dict[str, str] | None = None


class CustomerToken(Doc, kw_only=True):
    token: str
    merchant_id: str
    order_id: str  # the checkout order that minted it
    status: TokenStatus
    payment_method_type: str
    email: str  # the persona: decides each charge
    details: TokenDetails
    created_at: datetime


def mint(record: CheckoutRecord) -> CustomerToken | None:
    """The token a completed checkout mints: only a recurring order's, which holds its id."""
    session = record.session
    if record.status is not CheckoutStatus.CHECKOUT_COMPLETE or not session.recurring_token:
        return None
    order = record.order
    at = record.completed_at or record.last_modified_at
    method = PAYMENT_METHOD_TYPES.get(session.payment_method or "invoice", "INVOICE")
    # The card or account the read shows: made up, stable per token (the shopper typed none).
    card = (
        {
            "brand": "VISA",
            "expiry_date": f"12/{at.year + 3}",
            "masked_number": "************1111",
        }
        if method == "CARD"
        else None
    )
    debit = {"masked_number": "**3000"} if method == "DIRECT_DEBIT" else None
    return CustomerToken(
        token=session.recurring_token,
        merchant_id=record.merchant_id,
        order_id=record.order_id,
        status=TokenStatus.ACTIVE,
        payment_method_type=method,
        email=session.email or (order.billing_address and order.billing_address.email) or "",
        details=TokenDetails(
            purchase_country=order.purchase_country.upper(),
            purchase_currency=order.purchase_currency.upper(),
            locale=order.locale,
            billing_address=session.billing_address or order.billing_address,
            shipping_address=session.shipping_address or order.shipping_address,
            customer=session.customer or order.customer,
            national_identification_number=session.national_identification_number,
            card=card,
            direct_debit=debit,
        ),
        created_at=at,
    )


def owned(token: CustomerToken, merchant_id: str) -> CustomerToken:
    """`token` if `merchant_id` may use it: a token belongs to the merchant that minted it."""
    if token.merchant_id != merchant_id:
        raise TokenForbidden("The customer token is not usable by this merchant")
    return token


def chargeable(token: CustomerToken) -> None:
    if token.status is TokenStatus.CANCELLED:
        raise TokenCancelled("The customer token has been cancelled")
    if token.status is TokenStatus.SUSPENDED:
        raise TokenSuspended("The customer token has been suspended")


def cancelled(token: CustomerToken) -> CustomerToken | None:
    """The token after the merchant cancels it; None if it already is (cancelling again is
    answered as the first time: not documented, taken as idempotent)."""
    if token.status is TokenStatus.CANCELLED:
        return None
    return msgspec.structs.replace(token, status=TokenStatus.CANCELLED)


# The charge request (`customer_token_order`)

Str255 = Annotated[str, Meta(max_length=255)]
Url = Annotated[str, Meta(max_length=2000)]
Amount = Annotated[int, Meta(le=100_000_000)]


class TokenOrderLine(Doc, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=255)]
    quantity: Annotated[int, Meta(ge=0)]
    unit_price: Amount
    total_amount: Amount
    tax_rate: Annotated[int, Meta(ge=0, le=10000)] = 0
    total_tax_amount: int = 0
    total_discount_amount: Annotated[int, Meta(ge=0)] | None = None
    type: (
        Literal[
            "physical",
            "discount",
            "shipping_fee",
            "sales_tax",
            "digital",
            "gift_card",
            "store_credit",
            "surcharge",
        ]
        | None
    ) = None
    reference: Annotated[str, Meta(max_length=256)] | None = None
    quantity_unit: Annotated[str, Meta(min_length=1, max_length=8)] | None = None
    merchant_data: Str255 | None = None
    image_url: Annotated[str, Meta(max_length=1024)] | None = None
    product_url: Annotated[str, Meta(max_length=1024)] | None = None
    product_identifiers: ProductIdentifiers | None = None
    subscription: Subscription | None = None


class TokenMerchantUrls(Doc, kw_only=True):
    confirmation: Url
    push: Url | None = None


class TokenOrderRequest(Doc, kw_only=True):
    """`customer_token_order`; unknown fields (the `locale` clients send) are ignored."""

    purchase_currency: Annotated[str, Meta(pattern=r"^[A-Za-z]{3}$")]
    order_amount: Annotated[int, Meta(ge=1)]
    order_tax_amount: Annotated[int, Meta(ge=0)]
    order_lines: Annotated[list[TokenOrderLine], Meta(min_length=1, max_length=1000)]
    auto_capture: bool = False
    merchant_reference1: Str255 | None = None
    merchant_reference2: Str255 | None = None
    merchant_data: Annotated[str, Meta(max_length=6000)] | None = None
    merchant_urls: TokenMerchantUrls | None = None
    shipping_address: Address | None = None
    attachment: Attachment | None = None


def check_order(request: TokenOrderRequest) -> None:
    """The arithmetic of Checkout: each line adds up, and the lines add up to the order."""
    for index, line in enumerate(request.order_lines):
        field = bad_line_field(line)
        if field is not None:
            raise BadValue(f"order_lines[{index}].{field}")
    if sum(line.total_amount for line in request.order_lines) != request.order_amount:
        raise BadValue("order_amount")
    if sum(line.total_tax_amount for line in request.order_lines) != request.order_tax_amount:
        raise BadValue("order_tax_amount")


class Charge(msgspec.Struct, frozen=True, kw_only=True):
    """How the platform answers a charge: its fraud status and, if PENDING, what it becomes."""

    fraud_status: Literal["ACCEPTED", "PENDING"]
    pending_decision: str | None = None
    decision_after: timedelta | None = None


def judge_charge(token: CustomerToken, request: TokenOrderRequest) -> Charge:
    """The outcome of charging `token`, or the vendor's 403 for a charge that cannot be made."""
    chargeable(token)
    if request.purchase_currency.upper() != token.details.purchase_currency:
        # The token's method is known in its own currency only (an inference).
        raise PaymentMethodCurrencyMismatch(
            "The payment method is not available in the purchase currency"
        )
    if DENIED_CHARGE_TAG in token.email.lower():
        raise PaymentMethodFailed("Purchase for payment method failed")
    persona = persona_for(token.email)
    if persona.outcome is Outcome.DENIED:
        raise PaymentMethodFailed("Purchase for payment method failed")
    if persona.decision_after is not None:
        decision = "accept" if persona.outcome is Outcome.PENDING_ACCEPT else "reject"
        return Charge(
            fraud_status="PENDING",
            pending_decision=decision,
            decision_after=persona.decision_after,
        )
    return Charge(fraud_status="ACCEPTED")


def charge_record(
    token: CustomerToken,
    request: TokenOrderRequest,
    charge: Charge,
    order_id: str,
    now: datetime,
) -> CheckoutRecord:
    """A completed checkout record for the charge, for `open_order` to open its OM order from:
    the request's lines, amounts and references; the token's shopper, market and method."""
    details = token.details
    urls = request.merchant_urls
    confirmation = urls.confirmation if urls is not None else ""
    push = (urls.push if urls is not None else None) or ""
    order = CheckoutOrder(
        purchase_country=details.purchase_country,
        purchase_currency=details.purchase_currency,
        locale=details.locale,
        order_amount=request.order_amount,
        order_tax_amount=request.order_tax_amount,
        order_lines=[_order_line(line) for line in request.order_lines],
        # Never called for a charge (no callbacks by default); the record needs the part.
        merchant_urls=MerchantUrls(terms="", checkout="", confirmation=confirmation, push=push),
        billing_address=details.billing_address,
        shipping_address=request.shipping_address or details.shipping_address,
        customer=details.customer,
        merchant_reference1=request.merchant_reference1,
        merchant_reference2=request.merchant_reference2,
        merchant_data=request.merchant_data,
        options=Options(auto_capture=request.auto_capture),
    )
    method = AUTHORIZED_TYPES.get(token.payment_method_type, "invoice")
    session = Session(
        email=token.email,
        customer=details.customer,
        billing_address=details.billing_address,
        shipping_address=order.shipping_address,
        national_identification_number=details.national_identification_number,
        payment_method=method,
        fraud_status=charge.fraud_status,
        pending_decision=charge.pending_decision,
        decision_due_at=now + charge.decision_after if charge.decision_after else None,
    )
    return CheckoutRecord(
        order_id=order_id,
        merchant_id=token.merchant_id,
        status=CheckoutStatus.CHECKOUT_COMPLETE,
        order=order,
        started_at=now,
        last_modified_at=now,
        completed_at=now,
        expires_at=now,
        session=session,
    )


def authorized_payment_method(token: CustomerToken) -> dict[str, str]:
    return {"type": AUTHORIZED_TYPES.get(token.payment_method_type, "invoice")}


class StatusUpdate(Doc, kw_only=True):
    """`PATCH .../status`: the only value the vendor takes is `CANCELLED`."""

    status: str


def _order_line(line: TokenOrderLine) -> OrderLine:
    """A charge's line as an order line. The tax fields are given outright: the charge's line
    defaults them to 0, and a default is left out of its rendered form, while an order line
    requires them."""
    fields = msgspec.to_builtins(line)
    fields.update(tax_rate=line.tax_rate, total_tax_amount=line.total_tax_amount)
    return msgspec.convert(fields, OrderLine)
