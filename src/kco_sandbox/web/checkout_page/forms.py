"""The shopper's form posts: reading them and turning them into what the purchase steps take.

Reading a post is `web/forms.py`'s; a `BadValue` from here or there is shown on the step. Its
note is marked for the catalogue (`i18n`): the page shows it translated, as a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from kco_sandbox.domain.checkout.order import Address, CheckoutOrder
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.web.checkout_page.i18n import N_
from kco_sandbox.web.forms import FIELD_LIMIT, FORM_LIMIT, Form, read_form

__all__ = ["FIELD_LIMIT", "FORM_LIMIT", "Form", "read_form"]  # read here by the page's modules


TITLES: Final[dict[str, tuple[str, ...]]] = {
    "GB": ("Mr", "Ms", "Mrs", "Miss"),
    "DE": ("Herr", "Frau"),
    "AT": ("Herr", "Frau"),
    "NL": ("Dhr.", "Mevr."),
}
# Countries whose addresses take street name and number instead of one street line.
STREET_NAME_COUNTRIES: Final = frozenset({"DE", "AT", "NL"})
REGION_COUNTRIES: Final = frozenset({"US", "AU", "CA"})
NIN_COUNTRIES: Final = frozenset({"SE", "NO", "FI", "DK"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def title_id(value: str) -> str:
    """The id of a title option: `title__option__` and the value, lower case, letters only."""
    return "title__option__" + re.sub(r"[^a-z0-9]", "", value.lower())


@dataclass(frozen=True, slots=True)
class AddressFields:
    """Which inputs an address form has in a country, and which of them are mandatory."""

    country: str  # alpha-2, upper case
    titles: tuple[str, ...]
    street_name: bool
    region: bool
    title_required: bool
    phone_required: bool

    @classmethod
    def for_order(cls, order: CheckoutOrder) -> AddressFields:
        country = order.purchase_country.upper()
        options = order.options
        titles = TITLES.get(country, ())
        return cls(
            country=country,
            titles=titles,
            street_name=country in STREET_NAME_COUNTRIES,
            region=country in REGION_COUNTRIES,
            title_required=bool(titles and options and options.title_mandatory),
            phone_required=bool(options and options.phone_mandatory),
        )

    def read(self, form: Form, prefix: str, country: str, email: str | None) -> Address:
        """The address posted under `prefix`; `BadValue` names the first missing or bad field."""

        def need(name: str, note: str) -> str:
            value = form.get(prefix + name)
            if not value:
                raise BadValue(prefix + name, note)
            return value

        given_name = need("given_name", N_("first name is required"))
        family_name = need("family_name", N_("last name is required"))
        if self.street_name:
            street_name: str | None = need("street_name", N_("street is required"))
            street_number: str | None = need("street_number", N_("house number is required"))
            street_address = None
        else:
            street_address = need("street_address", N_("street address is required"))
            street_name = street_number = None
        postal_code = need("postal_code", N_("postal code is required"))
        city = need("city", N_("city is required"))
        title = form.optional(prefix + "title")
        if title is not None and title not in self.titles:
            raise BadValue(prefix + "title", N_("choose a title from the list"))
        if self.title_required and title is None:
            raise BadValue(prefix + "title", N_("title is required"))
        phone = form.optional(prefix + "phone")
        if self.phone_required and phone is None:
            raise BadValue(prefix + "phone", N_("phone number is required"))
        return Address(
            given_name=given_name,
            family_name=family_name,
            email=email,
            title=title,
            street_address=street_address,
            street_address2=None if self.street_name else form.optional(prefix + "street_address2"),
            street_name=street_name,
            street_number=street_number,
            postal_code=postal_code,
            city=city,
            region=form.optional(prefix + "region") if self.region else None,
            phone=phone,
            country=country.lower(),
            care_of=form.optional(prefix + "care_of"),
            organization_name=form.optional(prefix + "organization_name"),
        )


def read_country(form: Form, name: str, allowed: list[str]) -> str:
    """The picked country, which must be one the merchant offers."""
    value = form.get(name).upper() or allowed[0]
    if value not in allowed:
        raise BadValue(name, N_("choose a country from the list"))
    return value


def read_date_of_birth(form: Form, required: bool) -> str | None:
    value = form.optional("date_of_birth")
    if value is None:
        if required:
            raise BadValue("date_of_birth", N_("date of birth is required"))
        return None
    if not _DATE.match(value):
        raise BadValue("date_of_birth", N_("use the form YYYY-MM-DD"))
    return value


def offered_countries(wanted: list[str] | None, purchase_country: str) -> list[str]:
    """Countries a picker offers (alpha-2, upper case): the merchant's list, else the purchase
    country alone."""
    countries = [c.upper() for c in wanted] if wanted else [purchase_country.upper()]
    return list(dict.fromkeys(countries))
