"""The address screen: billing address, and a separate shipping address when the merchant allows.

Field sets follow the purchase country (street name and number in DE/AT/NL, a title in GB, DACH
and NL, a region in the US); inputs are prefilled with what the shopper entered before, else the
merchant's prefill. Shipping inputs carry the `shipping_` prefix on their ids and names.
"""

from __future__ import annotations

from kco_sandbox.domain.checkout.order import Address
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.web.checkout_page.forms import (
    NIN_COUNTRIES,
    AddressFields,
    Form,
    offered_countries,
    title_id,
)
from kco_sandbox.web.checkout_page.html import error_box, esc, field, select, submit
from kco_sandbox.web.checkout_page.tokens import SLOT


def _country_name(code: str) -> str:
    market = VENDOR_MARKETS.get(code)
    return f"{code} ({market.alpha3.upper()})" if market else code


def _address_inputs(
    fields: AddressFields,
    address: Address,
    posted: Form | None,
    prefix: str,
    organization: bool,
) -> str:
    def value(name: str) -> str | None:
        if posted is not None:
            return posted.get(prefix + name)
        stored = getattr(address, name)
        return stored if isinstance(stored, str) else None

    parts: list[str] = []
    if fields.titles:
        parts.append(
            select(
                prefix + "title",
                "Title",
                [(prefix + title_id(t), t, t) for t in fields.titles],
                value("title"),
                required=fields.title_required,
            )
        )
    if organization:
        parts.append(
            field(
                "organization_name",
                "Organization",
                value("organization_name"),
                required=prefix == "",
                autocomplete="organization",
                prefix=prefix,
            )
        )
    parts.append(
        field(
            "given_name",
            "First name",
            value("given_name"),
            required=True,
            autocomplete="given-name",
            prefix=prefix,
        )
    )
    parts.append(
        field(
            "family_name",
            "Last name",
            value("family_name"),
            required=True,
            autocomplete="family-name",
            prefix=prefix,
        )
    )
    if fields.street_name:
        parts.append(
            field(
                "street_name",
                "Street",
                value("street_name"),
                required=True,
                autocomplete="address-line1",
                prefix=prefix,
            )
        )
        parts.append(
            field(
                "street_number",
                "House number",
                value("street_number"),
                required=True,
                prefix=prefix,
            )
        )
    else:
        parts.append(
            field(
                "street_address",
                "Street address",
                value("street_address"),
                required=True,
                autocomplete="address-line1",
                prefix=prefix,
            )
        )
        parts.append(
            field(
                "street_address2",
                "Address line 2 (optional)",
                value("street_address2"),
                autocomplete="address-line2",
                prefix=prefix,
            )
        )
    parts.append(field("care_of", "c/o (optional)", value("care_of"), prefix=prefix))
    parts.append(
        field(
            "postal_code",
            "Postal code",
            value("postal_code"),
            required=True,
            autocomplete="postal-code",
            prefix=prefix,
        )
    )
    parts.append(
        field(
            "city",
            "City",
            value("city"),
            required=True,
            autocomplete="address-level2",
            prefix=prefix,
        )
    )
    if fields.region:
        parts.append(
            field(
                "region",
                "State / region",
                value("region"),
                required=True,
                autocomplete="address-level1",
                prefix=prefix,
            )
        )
    parts.append(
        field(
            "phone",
            "Phone",
            value("phone"),
            required=fields.phone_required,
            kind="tel",
            autocomplete="tel",
            prefix=prefix,
        )
    )
    return "".join(parts)


def _country_picker(name: str, label: str, countries: list[str], chosen: str | None) -> str:
    return select(
        name,
        label,
        [(f"{name}__option__{c.lower()}", c, _country_name(c)) for c in countries],
        (chosen or countries[0]).upper(),
        required=True,
    )


def address_step(
    record: CheckoutRecord,
    customer_type: str,
    error: str | None,
    posted: Form | None,
) -> str:
    order = record.order
    session = record.session
    options = order.options
    fields = AddressFields.for_order(order)
    organization = customer_type == "organization"
    billing = session.billing_address or order.billing_address or Address()
    if session.billing_address is None and session.postal_code:
        billing = Address(**{**_plain(billing), "postal_code": session.postal_code})
    shipping = session.shipping_address or order.shipping_address or Address()
    separate_allowed = bool(options and options.allow_separate_shipping_address)
    separate = (
        (posted.get("separate_shipping_address") == "on")
        if posted is not None
        else (session.shipping_address is not None and session.shipping_address != billing)
    )
    billing_countries = offered_countries(
        order.billing_countries or order.shipping_countries, order.purchase_country
    )
    shipping_countries = offered_countries(order.shipping_countries, order.purchase_country)
    dob_required = bool(options and options.date_of_birth_mandatory)
    nin_required = bool(
        options
        and (
            options.national_identification_number_mandatory
            or options.verify_national_identification_number
        )
    )

    def posted_or(name: str, stored: str | None) -> str | None:
        return posted.get(name) if posted is not None else stored

    parts = [
        "<h1>Billing address</h1>",
        error_box(error),
        f'<form method="post" action="/kco/checkout/{esc(record.order_id)}/address"'
        f' id="address-form">{SLOT}'
        f'<input type="hidden" name="customer_type" value="{esc(customer_type)}">',
        '<fieldset id="billing-address"><legend>Billing address</legend>',
        _country_picker(
            "country", "Country", billing_countries, posted_or("country", billing.country)
        ),
        _address_inputs(fields, billing, posted, "", organization),
        "</fieldset>",
        '<fieldset id="personal-details"><legend>About you</legend>',
        field(
            "date_of_birth",
            "Date of birth (YYYY-MM-DD)",
            posted_or(
                "date_of_birth",
                session.customer.date_of_birth
                if session.customer
                else (order.customer.date_of_birth if order.customer else None),
            ),
            required=dob_required,
            autocomplete="bday",
        ),
    ]
    if nin_required or fields.country in NIN_COUNTRIES:
        parts.append(
            field(
                "national_identification_number",
                "National identification number",
                posted_or("national_identification_number", session.national_identification_number),
                required=nin_required,
            )
        )
    parts.append("</fieldset>")
    if separate_allowed:
        checked = " checked" if separate else ""
        parts.append(
            '<p class="choice"><input type="checkbox" id="separate_shipping_address" '
            f'name="separate_shipping_address"{checked}>'
            '<label for="separate_shipping_address">Ship to a different address</label></p>'
            f'<fieldset id="shipping-address" data-toggle="separate_shipping_address"'
            f"{'' if separate else ' hidden disabled'}><legend>Shipping address</legend>"
            + _country_picker(
                "shipping_country",
                "Country",
                shipping_countries,
                posted_or("shipping_country", shipping.country),
            )
            + _address_inputs(fields, shipping, posted, "shipping_", organization)
            + "</fieldset>"
        )
    parts.append(submit("address-button", "Continue"))
    parts.append("</form>")
    return "".join(parts)


def _plain(address: Address) -> dict[str, str]:
    return {
        name: value
        for name in address.__struct_fields__
        if isinstance(value := getattr(address, name), str)
    }
