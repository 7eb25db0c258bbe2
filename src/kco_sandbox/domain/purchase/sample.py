"""Sample persons per market: the test shoppers the checkout page looks up, and the address a
checkout completed without a browser gets.

Each market has one approved sample person with an e-mail address and a postal code. On the
hosted page, the e-mail (any persona tag after a `+` aside) and the postal code of the order's
market's sample person fill in the address, as the vendor's checkout looks a returning customer
up; any other pair leaves the form empty. The e-mails follow the vendor's playground pattern
`customer@email.<country domain>`.

Where the vendor publishes a sample person (SE, NO, FI, DK, DE, AT, NL, GB, US, AU: the vendor's
"sample customer data", with the national identification numbers and dates of birth it lists),
the data is the vendor's; for the other markets (BE, CA, CH, CZ, ES, FR, GR, IE, IT, NZ, PL, PT)
it is the sandbox's own: a "Testperson-xx Approved" at a public place of the capital.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kco_sandbox.domain.checkout.order import Address

SAMPLE_DATE_OF_BIRTH: Final = "1941-03-21"


@dataclass(frozen=True, slots=True)
class SamplePerson:
    """One market's approved sample shopper."""

    country: str  # ISO alpha-2, upper case
    email: str
    address: dict[str, str]  # Address fields but country and e-mail
    date_of_birth: str = SAMPLE_DATE_OF_BIRTH
    national_identification_number: str | None = None

    @property
    def postal_code(self) -> str:
        return self.address["postal_code"]

    def address_for(self, email: str) -> Address:
        """The person's address, with `email` as the one the shopper gave."""
        return Address(country=self.country.lower(), email=email, **self.address)


def _person(
    country: str,
    email_domain: str,
    date_of_birth: str = SAMPLE_DATE_OF_BIRTH,
    nin: str | None = None,
    **address: str,
) -> SamplePerson:
    return SamplePerson(country, f"customer@email.{email_domain}", address, date_of_birth, nin)


SAMPLE_PERSONS: Final[dict[str, SamplePerson]] = {
    p.country: p
    for p in (
        # The vendor's sample persons.
        _person(
            "SE",
            "se",
            "1941-03-21",
            "410321-9202",
            given_name="Testperson-se",
            family_name="Approved",
            street_address="Stårgatan 1",
            postal_code="12345",
            city="Ankeborg",
            phone="+46765260000",
        ),
        _person(
            "NO",
            "no",
            "1970-08-01",
            "01087000571",
            given_name="Testperson-no",
            family_name="Approved",
            street_address="Sæffleberggate 56",
            postal_code="0563",
            city="Oslo",
            phone="+4740123456",
        ),
        _person(
            "FI",
            "fi",
            "1922-01-19",
            "190122-829F",
            given_name="Testperson-fi",
            family_name="Approved",
            street_address="Kiväärikatu 10",
            postal_code="28100",
            city="Pori",
            phone="+358401234567",
        ),
        _person(
            "DK",
            "dk",
            "1936-01-08",
            "0801363945",
            given_name="Testperson-dk",
            family_name="Approved",
            street_address="Sæfflevej 1",
            postal_code="6800",
            city="Varde",
            phone="+4542555628",
        ),
        _person(
            "DE",
            "de",
            title="Herr",
            given_name="Testperson-de",
            family_name="Approved",
            street_name="Hellersbergstraße",
            street_number="14",
            postal_code="41460",
            city="Neuss",
            phone="+491522113356",
        ),
        _person(
            "AT",
            "at",
            title="Herr",
            given_name="Testperson-at",
            family_name="Approved",
            street_name="Mariahilfer Straße",
            street_number="47",
            postal_code="1060",
            city="Wien",
            phone="+4306762600456",
        ),
        _person(
            "NL",
            "nl",
            title="Dhr.",
            given_name="Testperson-nl",
            family_name="Approved",
            street_name="Neherkade",
            street_number="1",
            postal_code="2521VA",
            city="Gravenhage",
            phone="+31689124321",
        ),
        _person(
            "GB",
            "uk",
            title="Mr",
            given_name="John",
            family_name="Doe",
            street_address="10 Downing Street",
            postal_code="SW1A 2AA",
            city="London",
            phone="+447755564318",
        ),
        _person(
            "US",
            "us",
            given_name="John",
            family_name="Doe",
            street_address="509 Amsterdam Ave",
            postal_code="10024",
            city="New York",
            region="NY",
            phone="+13106683312",
        ),
        _person(
            "AU",
            "au",
            "1970-07-10",
            given_name="Test",
            family_name="Person-au",
            street_address="Wharf street 4",
            postal_code="4877",
            city="Port Douglas",
            region="QLD",
            phone="+61473752244",
        ),
        # The sandbox's own, for the markets the vendor gives no sample person for.
        _person(
            "BE",
            "be",
            given_name="Testperson-be",
            family_name="Approved",
            street_address="Grote Markt 1",
            postal_code="1000",
            city="Brussel",
            phone="+32470000001",
        ),
        _person(
            "CA",
            "ca",
            given_name="Testperson-ca",
            family_name="Approved",
            street_address="301 Front St W",
            postal_code="M5V 2T6",
            city="Toronto",
            region="ON",
            phone="+14165550101",
        ),
        _person(
            "CH",
            "ch",
            given_name="Testperson-ch",
            family_name="Approved",
            street_address="Bundesplatz 3",
            postal_code="3005",
            city="Bern",
            phone="+41790000001",
        ),
        _person(
            "CZ",
            "cz",
            given_name="Testperson-cz",
            family_name="Approved",
            street_address="Staroměstské náměstí 1",
            postal_code="110 00",
            city="Praha",
            phone="+420600000001",
        ),
        _person(
            "ES",
            "es",
            given_name="Testperson-es",
            family_name="Approved",
            street_address="Plaza Mayor 1",
            postal_code="28012",
            city="Madrid",
            phone="+34600000001",
        ),
        _person(
            "FR",
            "fr",
            given_name="Testperson-fr",
            family_name="Approved",
            street_address="5 Avenue Anatole France",
            postal_code="75007",
            city="Paris",
            phone="+33600000001",
        ),
        _person(
            "GR",
            "gr",
            given_name="Testperson-gr",
            family_name="Approved",
            street_address="Plateia Syntagmatos 1",
            postal_code="105 63",
            city="Athina",
            phone="+306900000001",
        ),
        _person(
            "IE",
            "ie",
            given_name="Testperson-ie",
            family_name="Approved",
            street_address="1 College Green",
            postal_code="D02 X285",
            city="Dublin",
            phone="+353850000001",
        ),
        _person(
            "IT",
            "it",
            given_name="Testperson-it",
            family_name="Approved",
            street_address="Piazza del Colosseo 1",
            postal_code="00184",
            city="Roma",
            phone="+393000000001",
        ),
        _person(
            "NZ",
            "nz",
            given_name="Testperson-nz",
            family_name="Approved",
            street_address="1 Queen Street",
            postal_code="1010",
            city="Auckland",
            phone="+64210000001",
        ),
        _person(
            "PL",
            "pl",
            given_name="Testperson-pl",
            family_name="Approved",
            street_address="Plac Defilad 1",
            postal_code="00-901",
            city="Warszawa",
            phone="+48500000001",
        ),
        _person(
            "PT",
            "pt",
            given_name="Testperson-pt",
            family_name="Approved",
            street_address="Praça do Comércio 1",
            postal_code="1100-148",
            city="Lisboa",
            phone="+351910000001",
        ),
    )
}
_GENERIC: Final = {
    "given_name": "Test",
    "family_name": "Person",
    "street_address": "Main street 1",
    "postal_code": "12345",
    "city": "Testville",
    "phone": "+10000000000",
}


def sample_address(country: str, email: str) -> Address:
    """An approved sample shopper's address in `country`."""
    person = SAMPLE_PERSONS.get(country.upper())
    if person is None:
        return Address(country=country.lower(), email=email, **_GENERIC)
    return person.address_for(email)


def _plain_email(email: str) -> str:
    """`email` lower-cased, without a persona tag (`customer+denied@…` → `customer@…`)."""
    local, at, domain = email.strip().lower().partition("@")
    return local.split("+", 1)[0] + at + domain


def _plain_postal_code(postal_code: str) -> str:
    return "".join(postal_code.split()).upper()


def find_sample_person(
    countries: list[str], email: str | None, postal_code: str | None
) -> SamplePerson | None:
    """The sample person of one of `countries` with this e-mail (tag aside) and postal code
    (spaces and case aside), if any."""
    if not email or not postal_code:
        return None
    for country in countries:
        person = SAMPLE_PERSONS.get(country.upper())
        if (
            person is not None
            and _plain_email(email) == person.email
            and _plain_postal_code(postal_code) == _plain_postal_code(person.postal_code)
        ):
            return person
    return None
