"""The address screen: billing address, and a separate shipping address when the merchant allows.

Field sets follow the purchase country (street name and number in DE/AT/NL, a title in GB, DACH
and NL, a region in the US); inputs are prefilled with what the shopper entered before, else with
the sample person the e-mail and postal code of the first step name (the test person lookup,
`domain/purchase/sample.py`), else with the merchant's prefill. Shipping inputs carry the
`shipping_` prefix on their ids and names. Organizations give their name and registration id.
"""

from __future__ import annotations

from collections.abc import Callable

from kco_sandbox.domain.checkout.order import Address
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.purchase.sample import SamplePerson, find_sample_person
from kco_sandbox.web.checkout_page.forms import (
    NIN_COUNTRIES,
    AddressFields,
    Form,
    offered_countries,
    title_id,
)
from kco_sandbox.web.checkout_page.html import error_box, esc, field, select, submit, tag
from kco_sandbox.web.checkout_page.i18n import Text
from kco_sandbox.web.checkout_page.steps import back
from kco_sandbox.web.checkout_page.tokens import SLOT


def _pair(first: str, second: str, kind: str = "") -> str:
    """Two inputs side by side (one under the other when the frame is narrow)."""
    return f'<div class="pair{kind}">{first}{second}</div>'


def _address_inputs(
    t: Text,
    fields: AddressFields,
    address: Address,
    posted: Form | None,
    prefix: str,
    organization: bool,
) -> str:
    """The inputs of one address; an organization's name only for the shipping address (the
    billing one asks for it with the registration id, in `_organization`)."""

    def value(name: str) -> str | None:
        if posted is not None:
            return posted.get(prefix + name)
        stored = getattr(address, name)
        return stored if isinstance(stored, str) else None

    def text(name: str, label: str, autocomplete: str = "", required: bool = True) -> str:
        return field(
            name,
            label,
            value(name),
            required=required,
            autocomplete=autocomplete,
            prefix=prefix,
        )

    parts: list[str] = []
    if organization and prefix:
        parts.append(text("organization_name", t("Organization name"), "organization", False))
    if fields.titles:
        parts.append(
            select(
                prefix + "title",
                t("Title"),
                [(prefix + title_id(title), title, title) for title in fields.titles],
                value("title"),
                required=fields.title_required,
            )
        )
    parts.append(
        _pair(
            text("given_name", t("First name"), "given-name"),
            text("family_name", t("Last name"), "family-name"),
        )
    )
    if fields.street_name:
        street = text("street_name", t("Street"), "address-line1")
        parts.append(_pair(street, text("street_number", t("House number")), " wide-first"))
    else:
        parts.append(text("street_address", t("Street address"), "address-line1"))
        parts.append(
            text("street_address2", t("Address line 2 (optional)"), "address-line2", False)
        )
    parts.append(text("care_of", t("c/o (optional)"), required=False))
    parts.append(
        _pair(
            text("postal_code", t("Postal code"), "postal-code"),
            text("city", t("City"), "address-level2"),
            " wide-second",
        )
    )
    if fields.region:
        parts.append(text("region", t("State / region"), "address-level1"))
    parts.append(
        field(
            "phone",
            t("Phone"),
            value("phone"),
            required=fields.phone_required,
            kind="tel",
            autocomplete="tel",
            prefix=prefix,
        )
    )
    return "".join(parts)


def _country_picker(t: Text, name: str, countries: list[str], chosen: str | None) -> str:
    """A picker of countries by their names in the page's language (values: alpha-2)."""
    return select(
        name,
        t("Country"),
        [(f"{name}__option__{c.lower()}", c, t.country(c)) for c in countries],
        (chosen or countries[0]).upper(),
        required=True,
    )


def looked_up(record: CheckoutRecord) -> SamplePerson | None:
    """The sample person the first step's e-mail and postal code name, while the shopper has
    given no address yet."""
    session = record.session
    if session.billing_address is not None:
        return None
    country = record.order.purchase_country
    return find_sample_person([country], session.email, session.postal_code)


def _organization(
    t: Text,
    record: CheckoutRecord,
    billing: Address,
    posted_or: Callable[[str, str | None], str | None],
) -> str:
    """An organization's name (the billing address's `organization_name`) and registration id
    (`customer.organization_registration_id`)."""
    customer = record.session.customer or record.order.customer
    return (
        '<fieldset id="organization-details">'
        + tag("legend", t("Organization"))
        + field(
            "organization_name",
            t("Organization name"),
            posted_or("organization_name", billing.organization_name),
            required=True,
            autocomplete="organization",
        )
        + field(
            "organization_registration_id",
            t("Organization number"),
            posted_or(
                "organization_registration_id",
                customer.organization_registration_id if customer else None,
            ),
            hint=t("The registration id of the organization, such as 556737-0431."),
        )
        + "</fieldset>"
    )


def _personal(
    t: Text,
    record: CheckoutRecord,
    person: SamplePerson | None,
    posted_or: Callable[[str, str | None], str | None],
    organization: bool,
) -> str:
    """Date of birth and national identification number (asked of an organization only when
    mandatory)."""
    order = record.order
    session = record.session
    options = order.options
    dob_required = bool(options and options.date_of_birth_mandatory)
    nin_required = bool(
        options
        and (
            options.national_identification_number_mandatory
            or options.verify_national_identification_number
        )
    )
    if organization and not (dob_required or nin_required):
        return ""
    in_nin_country = AddressFields.for_order(order).country in NIN_COUNTRIES
    show_nin = nin_required or (in_nin_country and not organization)
    customer = session.customer or order.customer
    dob = customer.date_of_birth if customer else None
    nin = session.national_identification_number
    if person is not None:
        dob = dob or person.date_of_birth
        nin = nin or person.national_identification_number
    parts = [
        '<fieldset id="personal-details">',
        tag("legend", t("About you")),
        field(
            "date_of_birth",
            t("Date of birth (YYYY-MM-DD)"),
            posted_or("date_of_birth", dob),
            required=dob_required,
            autocomplete="bday",
        ),
    ]
    if show_nin:
        parts.append(
            field(
                "national_identification_number",
                t("National identification number"),
                posted_or("national_identification_number", nin),
                required=nin_required,
            )
        )
    parts.append("</fieldset>")
    return "".join(parts)


def address_step(
    t: Text,
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
    person = looked_up(record)
    billing = session.billing_address or order.billing_address or Address()
    if person is not None and session.email:
        billing = person.address_for(session.email)
    elif session.billing_address is None and session.postal_code:
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

    def posted_or(name: str, stored: str | None) -> str | None:
        return posted.get(name) if posted is not None else stored

    found = ""
    if person is not None:
        text = t("We found your address. Check it and continue.")
        found = f'<p class="notice" id="lookup-notice" role="status">{esc(text)}</p>'
    parts = [
        back(record.order_id, "identify", t("Change e-mail address")),
        tag("h1", t("Address")),
        found,
        error_box(error),
        f'<form method="post" action="/kco/checkout/{esc(record.order_id)}/address"'
        f' id="address-form">{SLOT}'
        f'<input type="hidden" name="customer_type" value="{esc(customer_type)}">',
        _organization(t, record, billing, posted_or) if organization else "",
        '<fieldset id="billing-address">' + tag("legend", t("Billing address")),
        _country_picker(t, "country", billing_countries, posted_or("country", billing.country)),
        _address_inputs(t, fields, billing, posted, "", organization),
        "</fieldset>",
        _personal(t, record, person, posted_or, organization),
    ]
    if separate_allowed:
        checked = " checked" if separate else ""
        parts.append(
            '<p class="choice"><input type="checkbox" id="separate_shipping_address" '
            f'name="separate_shipping_address"{checked}>'
            + tag("label", t("Ship to a different address"), ' for="separate_shipping_address"')
            + "</p>"
            '<fieldset id="shipping-address" data-toggle="separate_shipping_address"'
            + ("" if separate else " hidden disabled")
            + ">"
            + tag("legend", t("Shipping address"))
            + _country_picker(
                t,
                "shipping_country",
                shipping_countries,
                posted_or("shipping_country", shipping.country),
            )
            + _address_inputs(t, fields, shipping, posted, "shipping_", organization)
            + "</fieldset>"
        )
    parts.append(submit("address-button", t("Continue")))
    parts.append("</form>")
    return "".join(parts)


def _plain(address: Address) -> dict[str, str]:
    return {
        name: value
        for name in address.__struct_fields__
        if isinstance(value := getattr(address, name), str)
    }
