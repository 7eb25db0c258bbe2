"""The Order Management order, its captures and refunds, and the request bodies that change it.

Shapes and limits follow the vendor's Order Management OpenAPI file. The order does not hold its
captures and refunds: each is stored on its own (an order may have thousands), and the order
keeps running totals of them (amounts, counts, the time of the latest), which the rules judge a
new capture or refund by. `OmOrderView` is the order with its lists, as a read answers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, field

from kco_sandbox.domain.checkout.order import Doc, ProductIdentifiers, ShippingOption, Subscription

OM_MAX_AMOUNT = 200_000_000
Amount = Annotated[int, Meta(ge=0, le=OM_MAX_AMOUNT)]
Str255 = Annotated[str, Meta(max_length=255)]
LineType = Literal[
    "physical",
    "discount",
    "shipping_fee",
    "sales_tax",
    "store_credit",
    "gift_card",
    "digital",
    "surcharge",
    "return_fee",
]


class OmLine(Doc, kw_only=True):
    reference: Str255 | None = None
    type: LineType | None = None
    quantity: Annotated[int, Meta(ge=0)]
    quantity_unit: Annotated[str, Meta(max_length=10)] | None = None
    name: Str255
    total_amount: Annotated[int, Meta(le=OM_MAX_AMOUNT)]
    unit_price: Annotated[int, Meta(le=OM_MAX_AMOUNT)]
    total_discount_amount: Amount | None = None
    tax_rate: Annotated[int, Meta(ge=0)] | None = None
    total_tax_amount: Annotated[int, Meta(le=OM_MAX_AMOUNT)] | None = None
    merchant_data: Annotated[str, Meta(max_length=1024)] | None = None
    product_url: Annotated[str, Meta(max_length=1024)] | None = None
    image_url: Annotated[str, Meta(max_length=1024)] | None = None
    product_identifiers: ProductIdentifiers | None = None
    subscription: Subscription | None = None


class OmAddress(Doc):
    given_name: Annotated[str, Meta(max_length=100)] | None = None
    family_name: Annotated[str, Meta(max_length=100)] | None = None
    title: Annotated[str, Meta(max_length=20)] | None = None
    street_address: Annotated[str, Meta(max_length=100)] | None = None
    street_address2: Annotated[str, Meta(max_length=100)] | None = None
    postal_code: Annotated[str, Meta(max_length=10)] | None = None
    city: Annotated[str, Meta(max_length=200)] | None = None
    region: Annotated[str, Meta(max_length=200)] | None = None
    country: str | None = None
    email: Annotated[str, Meta(max_length=100)] | None = None
    phone: Annotated[str, Meta(max_length=100)] | None = None
    organization_name: Str255 | None = None
    attention: Str255 | None = None


class ShippingInfo(Doc):
    shipping_company: Annotated[str, Meta(max_length=100)] | None = None
    shipping_method: (
        Annotated[
            str,
            Meta(
                pattern=r"^(PickUpStore|Home|BoxReg|BoxUnreg|PickUpPoint|Own|Postal|DHLPackstation"
                r"|Digital|Undefined|PickUpWarehouse|ClickCollect|PalletDelivery)$"
            ),
        ]
        | None
    ) = None
    tracking_number: Annotated[str, Meta(max_length=100)] | None = None
    tracking_uri: Annotated[str, Meta(max_length=1024)] | None = None
    return_shipping_company: Annotated[str, Meta(max_length=100)] | None = None
    return_tracking_number: Annotated[str, Meta(max_length=100)] | None = None
    return_tracking_uri: Annotated[str, Meta(max_length=1024)] | None = None


class Capture(Doc, kw_only=True):
    capture_id: str
    klarna_reference: str
    captured_amount: int
    captured_at: datetime
    description: str = ""
    reference: str | None = None
    order_lines: list[OmLine] = field(default_factory=list)
    shipping_info: list[ShippingInfo] = field(default_factory=list)
    billing_address: OmAddress | None = None
    shipping_address: OmAddress | None = None
    due_date_extended_days: int = 0


class Refund(Doc, kw_only=True):
    refund_id: str
    refunded_amount: int
    refunded_at: datetime
    description: str = ""
    reference: str | None = None
    order_lines: list[OmLine] = field(default_factory=list)


class OmOrder(Doc, kw_only=True):
    order_id: str
    merchant_id: str
    klarna_reference: str
    purchase_country: str
    purchase_currency: str
    locale: str
    order_amount: int
    original_order_amount: int
    order_lines: list[OmLine]
    created_at: datetime
    expires_at: datetime
    fraud_status: str  # ACCEPTED, PENDING or REJECTED as decided at purchase
    pending_decision: str | None = None  # "accept" or "reject": what PENDING becomes
    decision_due_at: datetime | None = None
    merchant_reference1: str | None = None
    merchant_reference2: str | None = None
    merchant_data: str | None = None
    customer: dict[str, str] = field(default_factory=dict)
    billing_address: OmAddress | None = None
    shipping_address: OmAddress | None = None
    initial_payment_method: dict[str, str | int] = field(default_factory=dict)
    selected_shipping_option: ShippingOption | None = None
    shipping_info: list[ShippingInfo] = field(default_factory=list)
    cancelled_at: datetime | None = None
    released_at: datetime | None = None
    acknowledged_at: datetime | None = None
    # Running totals of the captures and refunds, changed by the change that adds one: the
    # amounts and status follow from these without reading a single capture.
    captured_amount: int = 0
    refunded_amount: int = 0
    capture_count: int = 0  # the newest capture's number; the next is `capture_count + 1`
    refund_count: int = 0
    ledger_changed_at: datetime | None = None  # the latest capture's or refund's time
    # Only on an order just opened with `auto_capture`: that capture, which the store writes as
    # the order's first capture (never part of the stored order).
    opening_capture: Capture | None = None


@dataclass(frozen=True, slots=True)
class OmOrderView:
    """The order as a read answers it: with every capture and refund, oldest first."""

    order: OmOrder
    captures: list[Capture]
    refunds: list[Refund]


# Request bodies


class CaptureRequest(Doc, kw_only=True):
    captured_amount: Amount
    description: Str255 | None = None
    reference: Str255 | None = None
    order_lines: Annotated[list[OmLine], Meta(max_length=1000)] | None = None
    shipping_info: Annotated[list[ShippingInfo], Meta(max_length=500)] | None = None
    shipping_delay: Annotated[int, Meta(ge=0)] | None = None


class RefundRequest(Doc, kw_only=True):
    refunded_amount: Amount
    description: Str255 | None = None
    reference: Str255 | None = None
    order_lines: Annotated[list[OmLine], Meta(max_length=1000)] | None = None


class AuthorizationUpdate(Doc, kw_only=True):
    order_amount: Amount
    description: Str255 | None = None
    order_lines: Annotated[list[OmLine], Meta(max_length=1000)] | None = None


class ReferencesUpdate(Doc):
    merchant_reference1: Str255 | None = None
    merchant_reference2: Str255 | None = None


class CustomerUpdate(Doc):
    shipping_address: OmAddress | None = None
    billing_address: OmAddress | None = None


class ShippingInfoUpdate(Doc, kw_only=True):
    shipping_info: Annotated[list[ShippingInfo], Meta(min_length=1, max_length=500)]


class DueDateExtension(Doc, kw_only=True):
    number_of_days: Annotated[int, Meta(ge=1)]
