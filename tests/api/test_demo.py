"""The demo shop under `/demo`: its pages, its bad-input answers, and its whole flow over HTTP.

The shop calls the Checkout API of its own server over real HTTP, which Starlette's TestClient
cannot answer; the pages that need no call run on the `client` fixture, the whole flow on a
`live_server`.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.demo_shop.cart import OFFERS, offer_for, order_request, tax_of
from kco_sandbox.demo_shop.client import shop_merchant
from kco_sandbox.demo_shop.pages import NOTICE
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.settings import Settings
from kco_sandbox.store.engine import SqlStore
from kco_sandbox.web.app import create_app
from kco_sandbox.web.context import AppContext
from tests.conftest import BASE_URL
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order
from tests.live import LiveServer, free_port

ORDERS = "/checkout/v3/orders"


def assert_demo_page(response: Any, status: int = 200) -> str:
    """An httpx or TestClient answer: a demo page with the notice, answered with `status`."""
    text: str = response.text
    assert response.status_code == status, text
    assert response.headers["content-type"].startswith("text/html")
    assert html.escape(NOTICE) in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    return text


# pages that need no API call


def test_the_shop_page_offers_the_t_shirt_in_swedish_crowns(client: TestClient) -> None:
    page = assert_demo_page(client.get("/demo"))
    assert "T-shirt" in page
    assert "249.00 SEK incl. 25 % VAT" in page
    assert f'<form method="post" action="{BASE_URL}/demo/checkout">' in page
    assert 'name="quantity"' in page
    assert "Go to checkout" in page
    assert_demo_page(client.get("/demo/"))


def test_the_terms_page(client: TestClient) -> None:
    page = assert_demo_page(client.get("/demo/terms"))
    assert "Terms" in page


@pytest.mark.parametrize("quantity", ["abc", "", "0", "11", "1.5", "-1", "1e3", "٣", "9" * 400])
def test_a_bad_quantity_gets_a_clear_message(client: TestClient, quantity: str) -> None:
    page = assert_demo_page(client.post("/demo/checkout", data={"quantity": quantity}), 400)
    assert "Quantity must be a whole number from 1 to 10." in page


def test_a_form_without_quantity_or_with_markup_is_answered_escaped(client: TestClient) -> None:
    assert_demo_page(client.post("/demo/checkout", content=b"\xff\xfe"), 400)
    page = assert_demo_page(client.post("/demo/checkout", data={"quantity": '<b>"x'}), 400)
    assert "<b>" not in page
    assert 'value="&lt;b&gt;&quot;x"' in page


def test_a_huge_form_is_refused_with_a_page(client: TestClient) -> None:
    page = assert_demo_page(client.post("/demo/checkout", content=b"q=" + b"x" * 10_000), 413)
    assert "too large" in page


@pytest.mark.parametrize("path", ["/demo/checkout", "/demo/confirmation"])
@pytest.mark.parametrize("query", ["", "?order_id=", "?order_id=" + "a" * 101])
def test_pages_without_an_order_id_say_so(client: TestClient, path: str, query: str) -> None:
    page = assert_demo_page(client.get(path + query), 400)
    assert "No order was given" in page


def test_a_push_is_recorded_and_answered_200(client: TestClient) -> None:
    response = client.post("/demo/push?order_id=abc-123")
    assert response.status_code == 200
    client.post("/demo/push?order_id=abc-123")
    ctx: AppContext = client.app.state.ctx  # type: ignore[attr-defined]
    pushes = client.app.state.demo_pushes  # type: ignore[attr-defined]
    assert pushes.for_order("abc-123") == [ctx.checkout.clock.now()] * 2
    assert pushes.for_order("other") == []
    assert client.post("/demo/push").status_code == 400


def test_when_the_api_cannot_be_reached_the_shop_says_so(
    store: SqlStore, clock: FrozenClock, settings: Settings
) -> None:
    unreachable = replace(settings, public_url=f"http://127.0.0.1:{free_port()}")
    app = create_app(unreachable, store, clock, list(settings.merchants))
    with TestClient(app, base_url=BASE_URL) as client:
        page = assert_demo_page(client.post("/demo/checkout", data={"quantity": "1"}), 502)
        assert "could not be reached" in page
        assert_demo_page(client.get("/demo/orders/some-id"), 502)
        assert_demo_page(client.get("/demo/checkout?order_id=some-id"), 502)


def test_without_a_merchant_the_shop_is_closed(store: SqlStore, clock: FrozenClock) -> None:
    app = create_app(Settings(), store, clock, [])
    with TestClient(app, base_url=BASE_URL) as client:
        page = assert_demo_page(client.get("/demo"), 503)
        assert "no merchant account" in page


# which merchant, and what it sells


def test_the_shop_signs_in_as_the_first_active_merchant(client: TestClient) -> None:
    ctx: AppContext = client.app.state.ctx  # type: ignore[attr-defined]
    assert shop_merchant(ctx) == MERCHANT


def test_without_configured_merchants_the_first_stored_one_is_used(
    store: SqlStore, clock: FrozenClock
) -> None:
    for merchant in (MERCHANT, OTHER_MERCHANT):
        store.put_merchant(merchant, clock.now())
    app = create_app(Settings(), store, clock, [MERCHANT, OTHER_MERCHANT])
    assert shop_merchant(app.state.ctx) == MERCHANT
    # A stored merchant the running server does not accept is skipped.
    app = create_app(Settings(), store, clock, [OTHER_MERCHANT])
    assert shop_merchant(app.state.ctx) == OTHER_MERCHANT


def test_a_merchant_limited_to_other_markets_sells_there() -> None:
    offer = offer_for(OTHER_MERCHANT)
    assert (offer.country, offer.currency, offer.locale) == ("DE", "EUR", "de-DE")
    offer = offer_for(Merchant("m", "k", "n", ("CZ",)))
    assert (offer.country, offer.currency, offer.locale) == ("CZ", "CZK", "en-CZ")
    assert offer_for(Merchant("m", "k", "n", ("XX",))) == OFFERS["SE"]


def test_the_tax_formula() -> None:
    assert tax_of(24900, 2500) == 4980
    assert tax_of(4900, 2500) == 980
    assert tax_of(2490, 1900) == round(2490 * 1900 / 11900)
    assert tax_of(100, 0) == 0


@pytest.mark.parametrize("country", sorted(OFFERS))
@pytest.mark.parametrize("quantity", [1, 3, 10])
def test_every_order_the_shop_makes_passes_the_api(
    client: TestClient, country: str, quantity: int
) -> None:
    body = order_request(OFFERS[country], quantity, f"{BASE_URL}/demo")
    response = client.post(ORDERS, json=body)
    assert response.status_code == 201, response.text
    line = body["order_lines"][0]
    assert line["total_amount"] == OFFERS[country].unit_price * quantity
    expected_tax = round(line["total_amount"] * line["tax_rate"] / (10000 + line["tax_rate"]))
    assert line["total_tax_amount"] == expected_tax


# the whole flow, over real HTTP


def test_the_whole_flow_through_the_public_api(live_server: LiveServer) -> None:
    base = live_server.url
    auth = (MERCHANT.merchant_id, MERCHANT.api_key)
    with httpx.Client(base_url=base, timeout=10) as http:
        shop = http.get("/demo")
        assert_demo_page(shop)
        assert "249.00 SEK" in shop.text

        started = http.post("/demo/checkout", data={"quantity": "2"})
        assert started.status_code == 303, started.text
        location = started.headers["location"]
        match = re.fullmatch(
            re.escape(base) + r"/demo/checkout\?order_id=([0-9a-f-]{36})", location
        )
        assert match is not None, location
        order_id = match.group(1)

        # What the shop sent, as its merchant reads it back.
        order = http.get(f"{ORDERS}/{order_id}", auth=auth).json()
        assert order["name"] == MERCHANT.name
        assert (order["purchase_country"], order["purchase_currency"]) == ("se", "SEK")
        assert order["locale"] == "sv-SE"
        assert order["order_amount"] == 49800
        assert order["order_tax_amount"] == 9960
        assert order["order_lines"][0]["quantity"] == 2
        assert order["merchant_urls"] == {
            "terms": f"{base}/demo/terms",
            "checkout": f"{base}/demo/checkout?order_id={{checkout.order.id}}",
            "confirmation": f"{base}/demo/confirmation?order_id={{checkout.order.id}}",
            "push": f"{base}/demo/push?order_id={{checkout.order.id}}",
        }
        options = {o["id"]: o for o in order["shipping_options"]}
        assert options["pickup-point"]["price"] == 0
        assert options["home-delivery"]["preselected"] is True
        assert options["home-delivery"]["tax_amount"] == 980

        checkout = assert_demo_page(http.get(location))
        assert order["html_snippet"].split("AUTH_HEADER")[0] in checkout
        assert f'id="demo-order-id">{order_id}<' in checkout
        assert 'id="demo-order-status">checkout_incomplete<' in checkout
        assert f'href="{base}/demo/orders/{order_id}"' in checkout

        completed = http.post(f"/_sandbox/orders/{order_id}/complete", json={}, auth=auth)
        assert completed.status_code == 200, completed.text
        redirect_url = completed.json()["redirect_url"]
        assert redirect_url == f"{base}/demo/confirmation?order_id={order_id}"

        thanks = assert_demo_page(http.get(redirect_url))
        assert "Thank you" in thanks
        assert 'id="demo-order-status">checkout_complete<' in thanks
        assert "klarna-checkout-container" in thanks

        assert http.post(f"/demo/push?order_id={order_id}").status_code == 200
        details = assert_demo_page(http.get(f"/demo/orders/{order_id}"))
        assert "No push received yet" not in details
        assert details.count("<li>") == 1
        assert "&quot;status&quot;: &quot;checkout_complete&quot;" in details
        assert "<script" not in details.split('id="demo-order-json"')[1]


def test_orders_the_shop_cannot_read_are_a_clear_404(live_server: LiveServer) -> None:
    other = httpx.post(
        live_server.url + ORDERS,
        json=make_order(purchase_country="DE", purchase_currency="EUR", locale="de-DE"),
        auth=(OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key),
    )
    assert other.status_code == 201, other.text
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        for path in (
            f"/demo/orders/{other.json()['order_id']}",
            "/demo/confirmation?order_id=not-an-order",
            "/demo/checkout?order_id=..%2F..%2Fabort",
            "/demo/orders/%3Cscript%3E",
        ):
            page = assert_demo_page(http.get(path), 404)
            assert "could not be read" in page
            assert "<script>" not in page.split("</style>")[1]


def test_the_demo_shop_uses_the_stored_demo_merchant_when_none_is_configured(
    tmp_path: Path,
) -> None:
    server = LiveServer(tmp_path)
    server.start()
    try:
        started = httpx.post(server.url + "/demo/checkout", data={"quantity": "1"}, timeout=10)
        assert started.status_code == 303, started.text
        page = httpx.get(started.headers["location"], timeout=10)
        assert "Your business name" in page.text
    finally:
        server.stop()
