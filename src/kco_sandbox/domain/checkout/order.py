"""The checkout order document, field for field as the vendor's Checkout API v3 defines it.

Field names equal the JSON names. Type, length, pattern and range constraints from the vendor's
OpenAPI `order` schema are declared here, so decoding a request *is* the schema check; the rules
that span fields live in `validation.py`. Read-only fields (`order_id`, `status`, `html_snippet`,
timestamps, ...) are not part of the document: clients may send them and they are ignored.
`None` everywhere means "not given"; the wire omits it.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

Str255 = Annotated[str, Meta(max_length=255)]
Str1024 = Annotated[str, Meta(max_length=1024)]
Url = Annotated[str, Meta(max_length=2000)]
Colour = Annotated[str, Meta(pattern=r"^#[A-Fa-f0-9]{6}$")]
Country = Annotated[str, Meta(pattern=r"^[A-Za-z]{2}$")]
Currency = Annotated[str, Meta(pattern=r"^[A-Za-z]{3}$")]
Locale = Annotated[str, Meta(pattern=r"^[A-Za-z]{2}(?:-[A-Za-z]{2})*$")]
NonNegative = Annotated[int, Meta(ge=0)]
MAX_AMOUNT = 100_000_000
MAX_ORDER_LINES = 1000


class Doc(Struct, omit_defaults=True, kw_only=True):
    """Base of every document part: unknown fields are ignored, unset fields are not rendered."""


class Address(Doc):
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    title: str | None = None
    street_address: str | None = None
    street_address2: str | None = None
    street_name: str | None = None
    street_number: str | None = None
    house_extension: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    phone: str | None = None
    country: str | None = None
    care_of: str | None = None
    organization_name: str | None = None
    reference: str | None = None
    attention: str | None = None


class Customer(Doc):
    type: str | None = None
    gender: str | None = None
    date_of_birth: str | None = None
    organization_registration_id: str | None = None
    vat_id: str | None = None


class ProductIdentifiers(Doc):
    brand: Annotated[str, Meta(max_length=70)] | None = None
    color: Annotated[str, Meta(max_length=64)] | None = None
    category_path: Annotated[str, Meta(max_length=750)] | None = None
    global_trade_item_number: Annotated[str, Meta(max_length=50)] | None = None
    manufacturer_part_number: Annotated[str, Meta(max_length=70)] | None = None
    size: Annotated[str, Meta(max_length=64)] | None = None


class Dimensions(Doc):
    height: NonNegative | None = None
    width: NonNegative | None = None
    length: NonNegative | None = None


class ShippingAttributes(Doc):
    weight: NonNegative | None = None
    dimensions: Dimensions | None = None
    tags: list[str] | None = None


class Subscription(Doc, kw_only=True):
    name: str | None = None
    interval: Literal["DAY", "WEEK", "MONTH", "YEAR"]
    interval_count: Annotated[int, Meta(ge=1)]


class OrderLine(Doc, kw_only=True):
    type: str | None = None
    reference: Str255 | None = None
    name: Annotated[str, Meta(min_length=1, max_length=255)]
    quantity: NonNegative
    subscription: Subscription | None = None
    quantity_unit: Annotated[str, Meta(max_length=8)] | None = None
    unit_price: Annotated[int, Meta(le=MAX_AMOUNT)]
    tax_rate: Annotated[int, Meta(ge=0, le=10000)]
    total_amount: Annotated[int, Meta(le=MAX_AMOUNT)]
    total_discount_amount: NonNegative | None = None
    total_tax_amount: int
    merchant_data: Str1024 | None = None
    product_url: Str1024 | None = None
    image_url: Str1024 | None = None
    product_identifiers: ProductIdentifiers | None = None
    shipping_attributes: ShippingAttributes | None = None


class DiscountLine(Doc, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=255)]
    quantity: NonNegative
    unit_price: Annotated[int, Meta(le=0)]
    tax_rate: Annotated[int, Meta(le=10000)]
    total_amount: Annotated[int, Meta(le=0)]
    total_tax_amount: int
    reference: Str255 | None = None
    merchant_data: Str1024 | None = None


class MerchantUrls(Doc, kw_only=True):
    terms: Url
    checkout: Url
    confirmation: Url
    push: Url
    validation: Url | None = None
    notification: Url | None = None
    cancellation_terms: Url | None = None
    shipping_option_update: Url | None = None
    address_update: Url | None = None
    country_change: Url | None = None
    upsell: Url | None = None


class Checkbox(Doc, kw_only=True):
    text: Annotated[str, Meta(max_length=1000)]
    checked: bool
    required: bool


class CheckboxV2(Doc, kw_only=True):
    id: str
    text: Annotated[str, Meta(max_length=1000)]
    checked: bool
    required: bool


class Options(Doc):
    require_validate_callback_success: bool | None = None
    acquiring_channel: Literal["ECOMMERCE", "MOTO", "IN_STORE", "TELESALES"] | None = None
    vat_removed: bool | None = None
    allow_separate_shipping_address: bool | None = None
    color_button: Colour | None = None
    color_button_text: Colour | None = None
    color_checkbox: Colour | None = None
    color_checkbox_checkmark: Colour | None = None
    color_header: Colour | None = None
    color_link: Colour | None = None
    date_of_birth_mandatory: bool | None = None
    shipping_details: Str255 | None = None
    title_mandatory: bool | None = None
    additional_checkbox: Checkbox | None = None
    national_identification_number_mandatory: bool | None = None
    additional_merchant_terms: str | None = None
    phone_mandatory: bool | None = None
    radius_border: str | None = None
    allowed_customer_types: (
        Annotated[list[Literal["person", "organization"]], Meta(min_length=1, max_length=2)] | None
    ) = None
    show_subtotal_detail: bool | None = None
    additional_checkboxes: list[CheckboxV2] | None = None
    verify_national_identification_number: bool | None = None
    auto_capture: bool | None = None
    require_client_validation: bool | None = None
    enable_discount_module: bool | None = None
    show_vat_registration_number_field: bool | None = None
    confirmation_page_upsell: bool | None = None


class Attachment(Doc, kw_only=True):
    content_type: str
    body: str


class PaymentProvider(Doc, kw_only=True):
    name: Str255
    redirect_url: Annotated[str, Meta(min_length=7, max_length=2000)]
    image_url: Url | None = None
    fee: int | None = None
    description: Annotated[str, Meta(max_length=500)] | None = None
    countries: list[Country] | None = None
    label: Literal["continue", "complete"] | None = None


class Product(Doc):
    name: str | None = None
    identifier: str | None = None


class Timeslot(Doc):
    id: str | None = None
    start: str | None = None
    end: str | None = None


class PickupLocation(Doc):
    id: str | None = None
    name: str | None = None
    address: Address | None = None


class DeliveryDetails(Doc):
    carrier: str | None = None
    # `class` is a Python keyword; the wire name is kept through a rename.
    class_: str | None = msgspec.field(default=None, name="class")
    product: Product | None = None
    timeslot: Timeslot | None = None
    pickup_location: PickupLocation | None = None


class SelectedAddon(Doc):
    type: str | None = None
    price: int | None = None
    external_id: str | None = None
    user_input: str | None = None


class ShippingOption(Doc, kw_only=True):
    id: str
    name: Annotated[str, Meta(min_length=1, max_length=255)]
    description: str | None = None
    promo: str | None = None
    price: int
    preselected: bool | None = None
    tax_amount: int
    tax_rate: int
    shipping_method: str | None = None
    delivery_details: DeliveryDetails | None = None
    tms_reference: str | None = None
    selected_addons: list[SelectedAddon] | None = None


class Gui(Doc):
    options: list[str] | None = None


class CheckoutOrder(Doc, kw_only=True):
    """What a merchant may write to a checkout order (create, and update by merge)."""

    purchase_country: Country
    purchase_currency: Currency
    locale: Locale
    order_amount: NonNegative
    order_tax_amount: NonNegative
    order_lines: Annotated[list[OrderLine], Meta(max_length=MAX_ORDER_LINES)]
    merchant_urls: MerchantUrls
    billing_address: Address | None = None
    shipping_address: Address | None = None
    customer: Customer | None = None
    merchant_reference1: Str255 | None = None
    merchant_reference2: Str255 | None = None
    options: Options | None = None
    attachment: Attachment | None = None
    external_payment_methods: list[PaymentProvider] | None = None
    external_checkouts: list[PaymentProvider] | None = None
    shipping_countries: list[Country] | None = None
    billing_countries: list[Country] | None = None
    shipping_options: list[ShippingOption] | None = None
    merchant_data: Annotated[str, Meta(max_length=6000)] | None = None
    gui: Gui | None = None
    recurring: bool | None = None
    tags: list[str] | None = None
    discount_lines: list[DiscountLine] | None = None


# Sent by clients that echo a whole order back (the .NET SDK does); never taken from a request.
READ_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "order_id",
        "name",
        "status",
        "html_snippet",
        "started_at",
        "completed_at",
        "last_modified_at",
        "merchant_requested",
        "selected_shipping_option",
        "recurring_token",
        "recurring_description",
    }
)
