"""Sample shoppers per purchase country, from the vendor's published test data where it has one.

Used when a checkout is completed without a browser and the caller gives no address.
"""

from __future__ import annotations

from typing import Final

from kco_sandbox.domain.checkout.order import Address

_SAMPLES: Final[dict[str, dict[str, str]]] = {
    "SE": {
        "given_name": "Testperson-se",
        "family_name": "Approved",
        "street_address": "Stårgatan 1",
        "postal_code": "12345",
        "city": "Ankeborg",
        "phone": "+46765260000",
    },
    "NO": {
        "given_name": "Testperson-no",
        "family_name": "Approved",
        "street_address": "Sæffleberggate 56",
        "postal_code": "0563",
        "city": "Oslo",
        "phone": "+4740123456",
    },
    "FI": {
        "given_name": "Testperson-fi",
        "family_name": "Approved",
        "street_address": "Kiväärikatu 10",
        "postal_code": "28100",
        "city": "Pori",
        "phone": "+358401234567",
    },
    "DK": {
        "given_name": "Testperson-dk",
        "family_name": "Approved",
        "street_address": "Sæfflevej 1",
        "postal_code": "6800",
        "city": "Varde",
        "phone": "+4542555628",
    },
    "DE": {
        "given_name": "Testperson-de",
        "family_name": "Approved",
        "street_name": "Hellersbergstraße",
        "street_number": "14",
        "postal_code": "41460",
        "city": "Neuss",
        "phone": "+491522113356",
        "title": "Herr",
    },
    "AT": {
        "given_name": "Testperson-at",
        "family_name": "Approved",
        "street_name": "Mariahilfer Straße",
        "street_number": "47",
        "postal_code": "1060",
        "city": "Wien",
        "phone": "+4306762600456",
        "title": "Herr",
    },
    "NL": {
        "given_name": "Testperson-nl",
        "family_name": "Approved",
        "street_name": "Neherkade",
        "street_number": "1",
        "postal_code": "2521VA",
        "city": "Gravenhage",
        "phone": "+31689124321",
        "title": "Dhr.",
    },
    "GB": {
        "given_name": "John",
        "family_name": "Doe",
        "street_address": "10 Downing Street",
        "postal_code": "SW1A 2AA",
        "city": "London",
        "phone": "+447755564318",
        "title": "Mr",
    },
    "US": {
        "given_name": "John",
        "family_name": "Doe",
        "street_address": "509 Amsterdam Ave",
        "postal_code": "10024",
        "city": "New York",
        "region": "NY",
        "phone": "+13106683312",
    },
    "AU": {
        "given_name": "Test",
        "family_name": "Person-au",
        "street_address": "Wharf street 4",
        "postal_code": "4877",
        "city": "Port Douglas",
        "region": "QLD",
        "phone": "+61473752244",
    },
}
_GENERIC: Final = {
    "given_name": "Test",
    "family_name": "Person",
    "street_address": "Main street 1",
    "postal_code": "12345",
    "city": "Testville",
    "phone": "+10000000000",
}
SAMPLE_DATE_OF_BIRTH: Final = "1941-03-21"


def sample_address(country: str, email: str) -> Address:
    """An approved sample shopper's address in `country`."""
    fields = _SAMPLES.get(country.upper(), _GENERIC)
    return Address(country=country.lower(), email=email, **fields)
