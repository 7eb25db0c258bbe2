"""The TEST DRIVE header of every checkout screen: the marker, and a panel of what a tester may use.

The marker (`#testdrive-marker`) says that no real money moves, as the vendor's playground
checkout does. Beside it a collapsed `<details id="testdrive-panel">` lists the persona e-mail
tricks (`domain/purchase/persona.py`), the one-time code of the sign-up step and the sample person
of the order's market (`domain/purchase/sample.py`), whose e-mail and postal code fill in the
address. It is plain HTML, opens without JavaScript, and holds none of the ids test suites use.
"""

from __future__ import annotations

import html
from typing import Final

from kco_sandbox.domain.checkout.order import CheckoutOrder
from kco_sandbox.domain.purchase.sample import SAMPLE_PERSONS
from kco_sandbox.web.checkout_page.i18n import N_, Text

# (e-mail, what happens), in the order a tester meets them.
PERSONAS: Final = (
    ("name@example.com", N_("approved")),
    ("name+denied@example.com", N_("denied: the order stays open; another e-mail gets through")),
    ("name+require_signup@example.com", N_("a sign-up with a one-time code comes first")),
    ("name+pend-accept-05@example.com", N_("completes as pending, accepted 5 minutes later")),
    ("name+pend-reject-05@example.com", N_("completes as pending, rejected 5 minutes later")),
)
EXAMPLE_CODE: Final = "123456"
REFUSED_CODE: Final = "999999"


def _code(text: str, ident: str = "") -> str:
    attribute = f' id="{ident}"' if ident else ""
    return f"<code{attribute}>{html.escape(text)}</code>"


def _sample(t: Text, order: CheckoutOrder) -> str:
    person = SAMPLE_PERSONS.get(order.purchase_country.upper())
    if person is None:
        return ""
    address = person.address
    name = f"{address['given_name']} {address['family_name']}"
    lines = [
        t.markup(
            "Sample person in %(country)s: e-mail %(email)s and postal code %(postal_code)s "
            "fill in the address of %(name)s.",
            country=html.escape(t.country(person.country)),
            email=_code(person.email, "testdrive-sample-email"),
            postal_code=_code(person.postal_code, "testdrive-sample-postal-code"),
            name=html.escape(name),
        )
    ]
    if person.national_identification_number:
        lines.append(
            t.markup(
                "National identification number: %(number)s, born %(date)s.",
                number=_code(person.national_identification_number),
                date=_code(person.date_of_birth),
            )
        )
    lines.append(t.markup("A tag such as %(tag)s still finds the person.", tag=_code("+denied")))
    return "<p>" + " ".join(lines) + "</p>"


def testdrive_header(t: Text, order: CheckoutOrder) -> str:
    """The marker and the collapsed panel of test data."""
    rows = "".join(
        f"<li>{_code(email)} &ndash; {html.escape(t(outcome))}</li>" for email, outcome in PERSONAS
    )
    code = t.markup(
        "One-time code: any 6 digits but %(refused)s, for example %(example)s.",
        refused=_code(REFUSED_CODE),
        example=_code(EXAMPLE_CODE, "testdrive-code"),
    )
    note = html.escape(t("no real money moves"))
    summary = html.escape(t("Test data"))
    intro = html.escape(t("The e-mail address decides what happens when you buy:"))
    return (
        '<header class="testdrive-bar">'
        f'<p class="testdrive" id="testdrive-marker">TEST DRIVE '
        f'<span class="testdrive-note">{note}</span></p>'
        f'<details id="testdrive-panel" class="testdrive-panel">'
        f"<summary>{summary}</summary>"
        f"<p>{intro}</p>"
        f'<ul id="testdrive-personas">{rows}</ul>'
        f"<p>{code}</p>"
        f"{_sample(t, order)}"
        "</details></header>"
    )
