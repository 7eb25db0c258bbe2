"""A subscription bought in the browser, then charged twice without the shopper (issue 13).

A shopper completes a `recurring: true` checkout order with a subscription line in Debian's
Chromium, through the hosted checkout's steps, on a live `kco-sandbox serve` (SQLite, and
PostgreSQL when configured). The merchant then does over HTTP what a subscription shop does every
month: reads the completed order's `recurring_token`, reads the token, charges it twice (with and
without `auto_capture`, each with its own `Klarna-Idempotency-Key`) and manages the two Order
Management orders that opened; a retried charge with the first key answers the first order again.
A screenshot of the summary step goes to `KCO_SANDBOX_SCREENSHOTS` if set, else into the test's
temporary folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kco_sandbox.store import Store
from tests.e2e import test_checkout_page as base
from tests.e2e.test_checkout_page import Checkout, Shop
from tests.factories import MERCHANT, OTHER_MERCHANT
from tests.live import LiveServer

# The fixtures of the checkout-page tests, shared by name.
browser = base.browser
checkout = base.checkout
shop = base.shop
shots = base.shots

TOKENS = "/customer-token/v1/tokens"
OM = "/ordermanagement/v1/orders"
MONTHLY = {"name": "Coffee club", "interval": "MONTH", "interval_count": 1}


@pytest.fixture(params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """The conftest's live server, on each engine (the token is written with the completion)."""
    database_url = None
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_url")
        Store.for_url(database_url).close()  # the schema, as `kco-sandbox db upgrade` makes it
    server = LiveServer(tmp_path, merchants=[MERCHANT, OTHER_MERCHANT], database_url=database_url)
    server.start()
    yield server
    server.stop()


def subscription_line(months: int = 1) -> dict[str, Any]:
    """One bag of coffee a month at 149.00 kr with 12 % VAT, for `months` months."""
    total = 14900 * months
    return {
        "type": "physical",
        "reference": "coffee-club",
        "name": "Coffee club, monthly bag",
        "quantity": months,
        "quantity_unit": "pcs",
        "unit_price": 14900,
        "tax_rate": 1200,
        "total_amount": total,
        "total_discount_amount": 0,
        "total_tax_amount": total - total * 10000 // 11200,
        "subscription": MONTHLY,
    }


def charge_body(months: int, reference: str, **fields: Any) -> dict[str, Any]:
    """A renewal as a shop sends it (with the `locale` the vendor's examples send too)."""
    line = subscription_line(months)
    return {
        "locale": "en-SE",
        "purchase_currency": "SEK",
        "order_amount": line["total_amount"],
        "order_tax_amount": line["total_tax_amount"],
        "order_lines": [line],
        "merchant_reference1": reference,
        **fields,
    }


def api(server: LiveServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, server.url + path, auth=(MERCHANT.merchant_id, MERCHANT.api_key), **kwargs
    )


def test_a_subscription_bought_in_the_browser_is_charged_twice(
    checkout: Callable[..., Checkout], shop: Shop, live_server: LiveServer
) -> None:
    first_month = subscription_line()
    session = checkout(
        recurring=True,
        order_amount=first_month["total_amount"],
        order_tax_amount=first_month["total_tax_amount"],
        order_lines=[first_month],
    )
    created = session.read()
    assert created["recurring"] is True
    assert "recurring_token" not in created

    session.identify("alva@example.com", "11122")
    session.address(postal_code="11122")
    session.pay("card")
    assert "Coffee club, monthly bag" in session.frame.locator("#order-lines").inner_text()
    session.shot("subscription-summary")
    session.buy()
    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")

    completed = session.read()
    assert completed["status"] == "checkout_complete"
    token = completed["recurring_token"]
    assert token

    read = api(live_server, "GET", f"{TOKENS}/{token}")
    assert read.status_code == 200, read.text
    assert read.json() == {
        "payment_method_type": "CARD",
        "status": "ACTIVE",
        "card": {
            "brand": "VISA",
            "expiry_date": read.json()["card"]["expiry_date"],
            "masked_number": "************1111",
        },
    }

    # Month two, authorized only; months three and four at once, captured on creation.
    first = api(
        live_server,
        "POST",
        f"{TOKENS}/{token}/order",
        json=charge_body(1, "renewal-2"),
        headers={"Klarna-Idempotency-Key": "coffee-renewal-2"},
    )
    second = api(
        live_server,
        "POST",
        f"{TOKENS}/{token}/order",
        json=charge_body(2, "renewal-3", auto_capture=True),
        headers={"Klarna-Idempotency-Key": "coffee-renewal-3"},
    )
    for charged in (first, second):
        assert charged.status_code == 200, charged.text
        assert charged.headers["content-type"] == "application/json"
        assert charged.json()["fraud_status"] == "ACCEPTED"
        assert charged.json()["authorized_payment_method"] == {"type": "card"}
        assert set(charged.json()) == {"order_id", "fraud_status", "authorized_payment_method"}
    one_id, two_id = first.json()["order_id"], second.json()["order_id"]
    assert len({one_id, two_id, session.order_id}) == 3

    one = api(live_server, "GET", f"{OM}/{one_id}").json()
    two = api(live_server, "GET", f"{OM}/{two_id}").json()
    assert (one["status"], one["order_amount"], one["captured_amount"]) == (
        "AUTHORIZED",
        14900,
        0,
    )
    assert (two["status"], two["order_amount"], two["captured_amount"]) == (
        "CAPTURED",
        29800,
        29800,
    )
    assert [c["captured_amount"] for c in two["captures"]] == [29800]
    assert (one["merchant_reference1"], two["merchant_reference1"]) == ("renewal-2", "renewal-3")
    # What the shopper typed into the browser is on every renewal.
    for order in (one, two):
        billing = order["billing_address"]
        assert (billing["given_name"], billing["family_name"]) == ("Alva", "Berg")
        assert (billing["street_address"], billing["postal_code"]) == ("Storgatan 2", "11122")
        assert (billing["city"], billing["email"]) == ("Stockholm", "alva@example.com")
        assert order["shipping_address"]["street_address"] == "Storgatan 2"
        assert (order["purchase_country"], order["purchase_currency"]) == ("SE", "SEK")
        assert order["order_lines"][0]["subscription"] == MONTHLY
    assert one["order_lines"][0]["quantity"] == 1
    assert two["order_lines"][0]["quantity"] == 2

    # The shop retries month two (its answer was lost): the same order, nothing new opened.
    retried = api(
        live_server,
        "POST",
        f"{TOKENS}/{token}/order",
        json=charge_body(1, "renewal-2"),
        headers={"Klarna-Idempotency-Key": "coffee-renewal-2"},
    )
    assert retried.status_code == 200, retried.text
    assert retried.json() == first.json()
    assert api(live_server, "GET", f"{OM}/{one_id}").json() == one

    # Month two is managed like any order: captured by hand.
    captured = api(live_server, "POST", f"{OM}/{one_id}/captures", json={"captured_amount": 14900})
    assert captured.status_code == 201, captured.text
    assert api(live_server, "GET", f"{OM}/{one_id}").json()["status"] == "CAPTURED"

    # Another merchant cannot use the token; the shopper cancels, and it is refused for good.
    stranger = httpx.get(
        f"{live_server.url}{TOKENS}/{token}",
        auth=(OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key),
    )
    assert (stranger.status_code, stranger.json()["error_code"]) == (403, "TOKEN_FORBIDDEN")
    cancelled = api(live_server, "PATCH", f"{TOKENS}/{token}/status", json={"status": "CANCELLED"})
    assert (cancelled.status_code, cancelled.content) == (202, b"")
    refused = api(live_server, "POST", f"{TOKENS}/{token}/order", json=charge_body(1, "renewal-5"))
    assert (refused.status_code, refused.json()["error_code"]) == (403, "TOKEN_CANCELLED")
    assert api(live_server, "GET", f"{TOKENS}/{token}").json()["status"] == "CANCELLED"
