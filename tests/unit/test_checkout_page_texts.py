"""The checkout page's server side in the shopper's language, without a browser: texts from the
catalogue, the test person lookup, the review, the confirmation and the organization's fields."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from starlette.testclient import TestClient

from kco_sandbox.web.checkout_page.i18n import text_for
from tests.factories import make_order
from tests.page_support import ADDRESS, NO_AUTH, ORDERS, create, page, step_of, token_in

GERMAN: dict[str, Any] = {"purchase_country": "DE", "purchase_currency": "EUR", "locale": "de-DE"}
HOME = {"id": "home", "name": "Home delivery", "price": 4900, "tax_amount": 980, "tax_rate": 2500}


def post(client: TestClient, order_id: str, step: str, **data: Any) -> Any:
    token = token_in(client.get(f"/kco/checkout/{order_id}", auth=NO_AUTH).text)
    return client.post(
        f"/kco/checkout/{order_id}/{step}",
        data={"form_token": token, **data},
        auth=NO_AUTH,
        follow_redirects=False,
    )


def shown(markup: str) -> str:
    """The page's text, tags dropped and entities read, as a shopper reads it."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def state_of(markup: str) -> dict[str, Any]:
    found = re.search(r'<script id="kco-page-state" type="application/json">(.*?)</script>', markup)
    assert found is not None
    state: dict[str, Any] = json.loads(found.group(1))
    return state


def test_the_page_speaks_the_orders_language(client: TestClient) -> None:
    t = text_for("de-DE")
    first = page(client, create(client, **GERMAN))
    assert '<html lang="de">' in first
    assert f"<h1>{t('Your details')}</h1>" in first
    assert f"<title>{t('Checkout')}</title>" in first
    assert 'id="cart-total">500,00\xa0€<' in first
    assert state_of(first)["texts"]["updating"] == t("Updating…")
    # Ids and form names stay as they are in every language.
    for ident in ('id="email" name="email"', 'id="postal_code"', 'id="identify-button"'):
        assert ident in first
    assert '<html lang="en">' in page(client, create(client, locale="en-SE"))


def test_a_sample_persons_e_mail_and_postal_code_fill_in_the_address(client: TestClient) -> None:
    order_id = create(client, **GERMAN)
    post(client, order_id, "identify", email="Customer@email.de", postal_code="41460")
    address = page(client, order_id)
    assert step_of(address) == "address"
    assert 'id="lookup-notice"' in address
    for name, value in {
        "given_name": "Testperson-de",
        "street_name": "Hellersbergstraße",
        "street_number": "14",
        "city": "Neuss",
    }.items():
        assert f'id="{name}" name="{name}" type="text" value="{value}"' in address
    assert '<option id="title__option__herr" value="Herr" selected>' in address
    assert '<option id="country__option__de" value="DE" selected>Deutschland</option>' in address


def test_anyone_else_gets_an_empty_address_form(client: TestClient) -> None:
    order_id = create(client, **GERMAN)
    post(client, order_id, "identify", email="hans@example.com", postal_code="41460")
    address = page(client, order_id)
    assert 'id="lookup-notice"' not in address
    assert 'id="given_name" name="given_name" type="text" value=""' in address
    assert 'id="postal_code" name="postal_code" type="text" value="41460"' in address


def test_an_organizations_registration_id_reaches_the_order(client: TestClient) -> None:
    order_id = create(client, options={"allowed_customer_types": ["person", "organization"]})
    moved = post(
        client,
        order_id,
        "identify",
        email="buyer@firm.example",
        postal_code="11122",
        customer_type="organization",
    )
    address = client.get(moved.headers["location"], auth=NO_AUTH).text
    assert 'id="organization-details"' in address
    assert '"customer": {"type": "organization"}' in address  # the `customer` event's data
    missing = post(client, order_id, "address", **ADDRESS, customer_type="organization")
    assert missing.status_code == 400
    assert "Organization name is required." in shown(missing.text)
    done = post(
        client,
        order_id,
        "address",
        **ADDRESS,
        customer_type="organization",
        organization_name="Firm AB",
        organization_registration_id="556737-0431",
    )
    assert done.status_code == 303, done.text
    order = client.get(f"{ORDERS}/{order_id}").json()
    assert order["customer"] == {
        "type": "organization",
        "organization_registration_id": "556737-0431",
    }
    assert order["billing_address"]["organization_name"] == "Firm AB"
    review = page(client, order_id, "?step=summary&payment_method=invoice")
    assert "556737-0431" in review


def test_a_person_sends_no_registration_id(client: TestClient) -> None:
    order_id = create(client)
    post(client, order_id, "identify", email="a@example.com", postal_code="11122")
    post(client, order_id, "address", **ADDRESS, organization_registration_id="556737-0431")
    order = client.get(f"{ORDERS}/{order_id}").json()
    assert order["customer"] == {"type": "person"}


def test_errors_are_said_in_the_shoppers_language(client: TestClient) -> None:
    order_id = create(client, locale="sv-SE")
    bad = post(client, order_id, "identify", email="nope", postal_code="11122")
    assert "Ange en giltig e-postadress." in shown(bad.text)
    post(client, order_id, "identify", email="a@example.com", postal_code="11122")
    missing = post(client, order_id, "address", **{**ADDRESS, "city": ""})
    assert "Ort krävs." in shown(missing.text)
    refused = client.post(
        f"/kco/checkout/{order_id}/identify",
        data={"email": "a@example.com", "postal_code": "1"},
        auth=NO_AUTH,
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert "Formuläret kunde inte tas emot" in shown(refused.text)


def test_a_denial_says_that_the_e_mail_decides(client: TestClient) -> None:
    order_id = create(client, locale="sv-SE")
    post(client, order_id, "identify", email="anna+denied@example.com", postal_code="11122")
    post(client, order_id, "address", **ADDRESS)
    denied = shown(post(client, order_id, "buy", payment_method="card").text)
    t = text_for("sv-SE")
    assert t("We could not approve this purchase.") in denied
    assert (
        t("The decision follows the e-mail address, so another payment method is declined too.")
        in denied
    )
    assert "choose another payment method" not in denied.lower()


def test_the_sign_up_step_gives_the_test_code(client: TestClient) -> None:
    order_id = create(client)
    post(client, order_id, "identify", email="new+require_signup@example.com", postal_code="1")
    post(client, order_id, "address", **ADDRESS)
    signup = post(client, order_id, "buy", payment_method="invoice")
    assert step_of(signup.text) == "signup"
    text = shown(signup.text)
    assert "new+require_signup@example.com" in text
    assert "phone" not in text.lower()
    assert "for example 123456" in text


def test_the_review_shows_what_the_shopper_gave_with_ways_to_change_it(
    client: TestClient,
) -> None:
    order_id = create(client, shipping_options=[HOME])
    post(client, order_id, "identify", email="alva@example.com", postal_code="11122")
    post(client, order_id, "address", **ADDRESS)
    post(client, order_id, "shipping", shipping_option="home")
    review = page(client, order_id, "?step=summary&payment_method=part_payment")
    for ident, step in {
        "email": "identify",
        "address": "address",
        "shipping": "shipping",
        "payment": "payment",
    }.items():
        assert f'id="change-{ident}" href="/kco/checkout/{order_id}?step={step}"' in review
    text = shown(review)
    for expected in ("alva@example.com", "Storgatan 2", "11122 Stockholm", "Sweden"):
        assert expected in text
    assert "Home delivery (49.00 SEK)" in text
    assert '<span id="chosen-method">Part payment</span>' in review
    # Each heading once: the step's, then the order's.
    assert review.count("<h1>") == 1
    assert review.count("<h2>") == 1


def test_the_confirmation_repeats_the_order(client: TestClient) -> None:
    order_id = create(
        client, shipping_options=[HOME], merchant_reference1="45aa52f387871e3a210645d4"
    )
    post(client, order_id, "identify", email="alva@example.com", postal_code="11122")
    post(client, order_id, "address", **ADDRESS)
    post(client, order_id, "shipping", shipping_option="home")
    post(client, order_id, "buy", payment_method="card")
    done = page(client, order_id)
    assert step_of(done) == "confirmation"
    assert f'id="confirmation-order-id">{order_id}<' in done
    assert 'id="confirmation-reference">45aa52f387871e3a210645d4<' in done
    assert 'id="confirmation-shipping">Home delivery<' in done
    assert 'id="confirmation-payment-method">Card<' in done
    address = re.search(r'<address id="confirmation-address">(.*?)</address>', done)
    assert address is not None
    assert address.group(1).split("<br>") == [
        "Alva Berg",
        "Storgatan 2",
        "11122 Stockholm",
        "Sweden",
    ]
    assert 'id="order-total">549.00 SEK<' in done


def test_the_test_drive_panel_lists_the_tricks_and_the_sample_person(client: TestClient) -> None:
    first = page(client, create(client, **GERMAN))
    panel = re.search(r'<details id="testdrive-panel".*?</details>', first)
    assert panel is not None
    text = shown(panel.group(0))
    for trick in ("+denied@", "+require_signup@", "+pend-accept-05@", "+pend-reject-05@"):
        assert trick in text
    assert "123456" in text
    assert "customer@email.de" in text
    assert "41460" in text
    assert text_for("de-DE")("Test data") in text
    assert " open" not in panel.group(0).split(">")[0]  # collapsed


def test_country_names_follow_the_language(client: TestClient) -> None:
    order = make_order(locale="sv-SE", billing_countries=["SE", "NO", "DK"])
    order_id = client.post(ORDERS, json=order).json()["order_id"]
    post(client, order_id, "identify", email="a@example.com", postal_code="11122")
    address = page(client, order_id)
    for code, name in (("se", "Sverige"), ("no", "Norge"), ("dk", "Danmark")):
        assert f'id="country__option__{code}" value="{code.upper()}"' in address
        assert f">{name}</option>" in address


def test_a_recurring_order_offers_no_financing(client: TestClient) -> None:
    order_id = create(client, recurring=True)
    post(client, order_id, "identify", email="alva@example.com", postal_code="11122")
    post(client, order_id, "address", **ADDRESS)
    methods = page(client, order_id, "?step=payment")
    assert 'value="card"' in methods
    assert 'value="invoice"' in methods
    assert 'value="part_payment"' not in methods
    # Asked for by hand, it is not reviewed and cannot be bought.
    review = page(client, order_id, "?step=summary&payment_method=part_payment")
    assert step_of(review) == "payment"
    bought = post(client, order_id, "buy", payment_method="part_payment")
    assert 'value="part_payment"' not in bought.text
    assert client.get(f"/checkout/v3/orders/{order_id}").json()["status"] == "checkout_incomplete"
