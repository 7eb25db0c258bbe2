"""Distributing a Hosted Payment Page session: checking the request and what would go out.

The platform never sends an e-mail or a text message: it records what the vendor would have sent
(the method, the contact masked, the link and the message) on the Checkout order's timeline. The
request is checked as the vendor documents: a method it knows (`email`, `sms`, `token`), the
contact data that method needs (`MISSING_CONTACT_DATA`), a well-formed contact
(`CONSTRAINT_VIOLATION`) and, for `sms`, a country the platform serves (`UNSUPPORTED_COUNTRY`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Final

import msgspec
from msgspec import Meta

from kco_sandbox.domain.checkout.order import Doc
from kco_sandbox.domain.errors import (
    ConstraintViolation,
    MissingContactData,
    UnsupportedCountry,
)
from kco_sandbox.domain.hpp import HppSession
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.domain.purchase.persona import is_email

METHODS: Final = ("email", "sms", "token")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,30}$")

Contact = Annotated[str, Meta(max_length=255)]


class ContactInformation(Doc):
    email: Contact | None = None
    phone: Contact | None = None
    phone_country: Contact | None = None
    access_id: Contact | None = None


class DistributionRequest(Doc):
    method: Contact
    contact_information: ContactInformation | None = None
    template: Contact | None = None  # "not used" by the vendor; accepted


def request_from(value: dict[str, Any]) -> DistributionRequest:
    """The body as a `DistributionRequest`; a malformed one is the vendor's CONSTRAINT_VIOLATION."""
    try:
        return msgspec.convert(
            {k: v for k, v in value.items() if v is not None}, DistributionRequest
        )
    except msgspec.ValidationError as exc:
        raise ConstraintViolation(f"Invalid request: {exc}") from None


@dataclass(frozen=True, slots=True)
class Distribution:
    """What would have gone out: recorded, never sent."""

    method: str
    contact: str  # masked
    link: str
    message: str

    def event(self, session_id: str) -> dict[str, Any]:
        return {
            "session_id": session_id,
            "method": self.method,
            "contact": self.contact,
            "link": self.link,
            "message": self.message,
            "sent": False,
        }


def judge(request: DistributionRequest, session: HppSession, link: str) -> Distribution:
    """Check `request` against its method and say what would go out; raises the vendor's codes."""
    method = request.method.lower()
    if method not in METHODS or request.method != method:
        raise ConstraintViolation("Invalid request: method must be one of email, sms, token")
    contact = request.contact_information or ContactInformation()
    title = session.options.page_title or "Complete your purchase"
    if method == "email":
        if not contact.email:
            raise MissingContactData("contact_information.email is required for method email")
        if not is_email(contact.email):
            raise ConstraintViolation("Invalid request: contact_information.email")
        return Distribution(method, mask_email(contact.email), link, f"{title}: {link}")
    if method == "sms":
        if not contact.phone or not contact.phone_country:
            raise MissingContactData(
                "contact_information.phone and phone_country are required for method sms"
            )
        if _PHONE.match(contact.phone) is None:
            raise ConstraintViolation("Invalid request: contact_information.phone")
        if contact.phone_country.upper() not in VENDOR_MARKETS:
            raise UnsupportedCountry(f"Phone country {contact.phone_country} is not supported")
        number = re.sub(r"[ ()-]", "", contact.phone)
        masked = f"{contact.phone_country.upper()} {mask_tail(number)}"
        return Distribution(method, masked, link, f"{title}: {link}")
    if not contact.access_id:
        raise MissingContactData("contact_information.access_id is required for method token")
    if not contact.access_id.isprintable():
        raise ConstraintViolation("Invalid request: contact_information.access_id")
    return Distribution(method, mask_tail(contact.access_id), link, f"{title}: {link}")


def mask_email(email: str) -> str:
    """`anna@example.com` → `a***@example.com`."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_tail(value: str) -> str:
    """All but the last four characters hidden."""
    return "*" * max(len(value) - 4, 0) + value[-4:]
