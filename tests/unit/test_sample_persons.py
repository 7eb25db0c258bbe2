"""The sample persons the checkout page looks up: one per market, found by e-mail and postal
code."""

from __future__ import annotations

import pytest

from kco_sandbox.domain.checkout.order import Address
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.domain.purchase.sample import (
    SAMPLE_PERSONS,
    find_sample_person,
    sample_address,
)

STREET_NAME_COUNTRIES = {"DE", "AT", "NL"}


def test_every_market_has_a_sample_person() -> None:
    assert set(SAMPLE_PERSONS) == set(VENDOR_MARKETS)


@pytest.mark.parametrize("country", sorted(VENDOR_MARKETS))
def test_a_sample_persons_address_fits_its_market(country: str) -> None:
    person = SAMPLE_PERSONS[country]
    address = person.address_for("shopper@example.com")
    assert address.country == country.lower()
    assert address.email == "shopper@example.com"
    for name in ("given_name", "family_name", "postal_code", "city", "phone"):
        assert getattr(address, name), name
    if country in STREET_NAME_COUNTRIES:
        assert address.street_name
        assert address.street_number
        assert address.street_address is None
    else:
        assert address.street_address
        assert address.street_name is None
    assert person.email.startswith("customer@email.")
    assert find_sample_person([country], person.email, person.postal_code) == person


def test_the_vendors_sample_person_of_sweden() -> None:
    person = find_sample_person(["SE"], "customer@email.se", "12345")
    assert person is not None
    assert person.address_for("customer@email.se") == Address(
        given_name="Testperson-se",
        family_name="Approved",
        email="customer@email.se",
        street_address="Stårgatan 1",
        postal_code="12345",
        city="Ankeborg",
        phone="+46765260000",
        country="se",
    )
    assert person.national_identification_number == "410321-9202"
    assert person.date_of_birth == "1941-03-21"


@pytest.mark.parametrize(
    ("email", "postal_code"),
    [
        ("Customer@Email.SE", "12345"),
        ("customer+denied@email.se", "12345"),
        ("customer+require_signup@email.se", "123 45"),
    ],
)
def test_case_spaces_and_persona_tags_do_not_matter(email: str, postal_code: str) -> None:
    assert find_sample_person(["SE"], email, postal_code) == SAMPLE_PERSONS["SE"]


@pytest.mark.parametrize(
    ("countries", "email", "postal_code"),
    [
        (["SE"], "customer@email.se", "11122"),  # another postal code
        (["SE"], "someone@email.se", "12345"),  # another e-mail
        (["SE"], "customer@email.no", "0563"),  # Norway's person in a Swedish order
        (["SE"], None, "12345"),
        (["SE"], "customer@email.se", None),
        (["XX"], "customer@email.se", "12345"),
    ],
)
def test_other_inputs_find_nobody(
    countries: list[str], email: str | None, postal_code: str | None
) -> None:
    assert find_sample_person(countries, email, postal_code) is None


def test_a_checkout_completed_without_a_browser_gets_the_markets_sample_address() -> None:
    assert sample_address("de", "hans@example.com").street_name == "Hellersbergstraße"
    assert sample_address("de", "hans@example.com").email == "hans@example.com"
    generic = sample_address("ZZ", "x@example.com")
    assert (generic.country, generic.city) == ("zz", "Testville")
