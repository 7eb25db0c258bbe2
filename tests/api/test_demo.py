"""The demo shop under `/demo`: its pages, its bad-input answers, and its whole flow over HTTP.

The shop is an app of its own that calls the platform's Checkout API over real HTTP, where the
server listens, which Starlette's TestClient cannot answer; the pages that need no call run on the
`client` fixture, the whole flow on a `live_server`. Its security (the form token, whose orders a
browser sees, where it sends credentials) is in `test_demo_security.py`.
"""

from __future__ import annotations

import ast
import html
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from starlette.testclient import TestClient

import kco_sandbox.demo_shop
from kco_sandbox.clock import FrozenClock
from kco_sandbox.demo_shop.app import ShopAccount, create_shop
from kco_sandbox.demo_shop.cart import (
    FLAT_PRICE_CURRENCIES,
    OFFERS,
    offer_for,
    order_request,
    tax_of,
)
from kco_sandbox.demo_shop.pages import NOTICE
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from kco_sandbox.web.app import shop_account
from tests.conftest import BASE_URL
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order
from tests.live import LiveServer, free_port

ORDERS = "/checkout/v3/orders"
TOKEN = re.compile(r'<input type="hidden" name="form_token" value="([^"]+)">')


class Browser(Protocol):
    """A TestClient or an `httpx.Client`: either keeps the shop's cookies, as a browser does."""

    def get(self, url: str) -> Any: ...
    def post(self, url: str, *, data: dict[str, str]) -> Any: ...


def shop_token(browser: Browser, shop: str = "/demo") -> str:
    """The token the shop's form carries for this browser, read from the shop page."""
    found = TOKEN.search(browser.get(shop).text)
    assert found is not None
    return found.group(1)


def go_to_checkout(browser: Browser, quantity: str = "1", shop: str = "/demo") -> Any:
    """The shop's "Go to checkout", as a browser posts it: the form's token and the quantity."""
    token = shop_token(browser, shop)
    return browser.post(f"{shop}/checkout", data={"quantity": quantity, "form_token": token})


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
    page = assert_demo_page(go_to_checkout(client, quantity), 400)
    assert "Quantity must be a whole number from 1 to 10." in page


def test_a_form_without_quantity_or_with_markup_is_answered_escaped(client: TestClient) -> None:
    token = shop_token(client).encode()
    assert_demo_page(client.post("/demo/checkout", content=b"form_token=" + token + b"&\xff"), 400)
    page = assert_demo_page(go_to_checkout(client, '<b>"x'), 400)
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


def test_a_push_is_answered_200_and_needs_an_order_id(client: TestClient) -> None:
    response = client.post("/demo/push?order_id=abc-123")
    assert response.status_code == 200
    assert response.text == "OK"
    assert client.post("/demo/push").status_code == 400
    assert client.post("/demo/push?order_id=" + "a" * 101).status_code == 400


def test_when_the_api_cannot_be_reached_the_shop_says_so(
    store: Store, clock: FrozenClock, settings: Settings
) -> None:
    # No server listens on the port the app was told it listens on.
    unreachable = replace(settings, port=free_port())
    app = create_app(unreachable, store, clock, list(settings.merchants))
    with TestClient(app, base_url=BASE_URL) as client:
        page = assert_demo_page(go_to_checkout(client), 502)
        assert f"at http://127.0.0.1:{unreachable.port} could not be reached" in page
        # The shop's links are built on the platform's public URL, as its merchant URLs are.
        assert f'<a href="{BASE_URL}/demo">Back to the shop</a>' in page
        assert_demo_page(client.get("/demo/checkout?order_id=some-id"), 502)


def test_without_a_merchant_the_shop_is_closed(store: Store, clock: FrozenClock) -> None:
    app = create_app(Settings(allowed_hosts=("testserver",)), store, clock, [])
    with TestClient(app, base_url=BASE_URL) as client:
        for path in ("/demo", "/demo/", "/demo/checkout?order_id=x", "/demo/orders/x"):
            page = assert_demo_page(client.get(path), 503)
            assert "no merchant account" in page
        assert_demo_page(client.post("/demo/checkout", data={"quantity": "1"}), 503)
        assert_demo_page(client.get("/demo/terms"))
        assert client.post("/demo/push?order_id=x").status_code == 200


# the shop as an app mounted at /demo


@pytest.mark.parametrize("path", ["/demo", "/demo/"])
def test_the_shop_answers_at_its_mount_point_with_and_without_slash(
    client: TestClient, path: str
) -> None:
    page = assert_demo_page(client.get(path))
    assert f'<header><a href="{BASE_URL}/demo">Demo T-shirt shop</a></header>' in page
    assert f'<a href="{BASE_URL}/demo/terms">Terms</a>' in page
    head = client.head(path)
    assert (head.status_code, head.content) == (200, b"")


@pytest.mark.parametrize(
    "path", ["/demo/nothing-here", "/demo/terms/", "/demo/checkout/", "/demo//", "/demo/orders/"]
)
def test_an_address_the_shop_does_not_have_is_its_own_404_page(
    client: TestClient, path: str
) -> None:
    page = assert_demo_page(client.get(path, follow_redirects=False), 404)
    assert "The shop has no page at this address." in page
    assert f'<a href="{BASE_URL}/demo">Back to the shop</a>' in page


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/demo", "GET, HEAD"),
        ("PUT", "/demo/checkout", "GET, HEAD, POST"),
        ("GET", "/demo/push", "POST"),
        ("DELETE", "/demo/orders/x", "GET, HEAD"),
    ],
)
def test_a_method_a_page_does_not_take_is_a_405_page(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    page = assert_demo_page(response, 405)
    assert f"This page does not take {method} requests." in page
    assert sorted(response.headers["allow"].split(", ")) == allowed.split(", ")


def test_addresses_beside_the_mount_point_stay_the_platforms(client: TestClient) -> None:
    for path in ("/demox", "/demo.html", "/de"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error_code"] == "NOT_FOUND"


def test_the_shop_imports_nothing_of_the_platform() -> None:
    """It knows the platform only by URL and credentials, as any merchant's code does."""
    folder = Path(kco_sandbox.demo_shop.__file__).parent
    reached: set[str] = set()
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.ImportFrom):
                reached.add("." * node.level + (node.module or ""))
            elif isinstance(node, ast.Import):
                reached.update(alias.name for alias in node.names)
    ours = {m for m in reached if m.startswith((".", "kco_sandbox"))}
    assert "kco_sandbox.demo_shop.cart" in ours  # the scan sees the shop's own imports
    assert {m for m in ours if not m.startswith("kco_sandbox.demo_shop")} == set()


def test_the_shop_notes_pushes_with_its_own_clock(live_server: LiveServer) -> None:
    """A shop standing alone, given only the platform's URL and an account, and a fixed clock."""
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    account = ShopAccount(MERCHANT.merchant_id, MERCHANT.api_key, MERCHANT.name)
    shop = create_shop(account, live_server.url, lambda request: live_server.url, now=lambda: at)
    with TestClient(shop, base_url=BASE_URL) as client:
        form = {"quantity": "1", "form_token": shop_token(client, "/")}
        started = client.post("/checkout", data=form, follow_redirects=False)
        assert started.status_code == 303, started.text
        order_id = started.headers["location"].rsplit("=", 1)[1]
        page = assert_demo_page(client.get(f"/orders/{order_id}"))
        assert "No push received yet." in page
        assert client.post(f"/push?order_id={order_id}").status_code == 200
        assert client.post(f"/push?order_id={order_id}").status_code == 200
        assert client.post("/push?order_id=another-order").status_code == 200
        page = assert_demo_page(client.get(f"/orders/{order_id}"))
    assert page.count("<li>2030-01-02 03:04:05 UTC</li>") == 2
    assert page.count("<li>") == 2


# which merchant, and what it sells


def test_the_shops_account_is_the_first_active_merchant() -> None:
    assert shop_account([OTHER_MERCHANT, MERCHANT]) == ShopAccount(
        "PK0002_test", "kco_test_api_second", "Second Store", ("DE", "AT")
    )
    assert shop_account([MERCHANT]) == ShopAccount(
        "PK0001_test", "kco_test_api_first", "First Store"
    )
    assert shop_account([]) is None


def test_the_shop_sells_where_its_merchant_may(store: Store, clock: FrozenClock) -> None:
    for merchants, price in (
        ([OTHER_MERCHANT, MERCHANT], "24.90 EUR incl. 19 % VAT"),
        ([MERCHANT, OTHER_MERCHANT], "249.00 SEK incl. 25 % VAT"),
    ):
        app = create_app(Settings(allowed_hosts=("testserver",)), store, clock, merchants)
        with TestClient(app, base_url=BASE_URL) as client:
            assert price in assert_demo_page(client.get("/demo"))


def test_the_shop_signs_in_as_the_first_active_merchant(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, merchants=[OTHER_MERCHANT, MERCHANT])
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as browser:
            started = go_to_checkout(browser)
        assert started.status_code == 303, started.text
        order_id = started.headers["location"].rsplit("=", 1)[1]
        url = f"{server.url}{ORDERS}/{order_id}"
        mine = httpx.get(url, auth=(OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key))
        assert mine.status_code == 200, mine.text
        assert mine.json()["name"] == OTHER_MERCHANT.name
        theirs = httpx.get(url, auth=(MERCHANT.merchant_id, MERCHANT.api_key))
        assert theirs.status_code == 404
    finally:
        server.stop()


def test_a_merchant_limited_to_other_markets_sells_there() -> None:
    offer = offer_for(OTHER_MERCHANT.markets)
    assert (offer.country, offer.currency, offer.locale) == ("DE", "EUR", "de-DE")
    offer = offer_for(("CZ",))
    assert (offer.country, offer.currency, offer.locale) == ("CZ", "CZK", "en-CZ")
    assert offer_for(("xx", "at")) == OFFERS["AT"]
    assert offer_for(("XX",)) == OFFERS["SE"]
    assert offer_for(("XX", "CZ")) == OFFERS["SE"]  # the first market decides the fallback
    assert offer_for(None) == OFFERS["SE"]


def test_the_shops_markets_are_the_platforms() -> None:
    """The shop keeps its own table of where it sells; it must not drift from the platform's."""
    assert OFFERS.keys() | FLAT_PRICE_CURRENCIES.keys() == VENDOR_MARKETS.keys()
    assert OFFERS.keys() & FLAT_PRICE_CURRENCIES.keys() == set()
    for country, market in VENDOR_MARKETS.items():
        assert offer_for((country,)).currency == market.currency, country


def test_the_tax_formula() -> None:
    assert tax_of(24900, 2500) == 4980
    assert tax_of(4900, 2500) == 980
    assert tax_of(2490, 1900) == round(2490 * 1900 / 11900)
    assert tax_of(100, 0) == 0


@pytest.mark.parametrize("country", sorted(VENDOR_MARKETS))
@pytest.mark.parametrize("quantity", [1, 3, 10])
def test_every_order_the_shop_makes_passes_the_api(
    client: TestClient, country: str, quantity: int
) -> None:
    offer = offer_for((country,))
    assert offer.country == country
    body = order_request(offer, quantity, f"{BASE_URL}/demo")
    response = client.post(ORDERS, json=body)
    assert response.status_code == 201, response.text
    line = body["order_lines"][0]
    assert line["total_amount"] == offer.unit_price * quantity
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

        started = go_to_checkout(http, "2")
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
        with httpx.Client(base_url=server.url, timeout=10) as browser:
            started = go_to_checkout(browser)
            assert started.status_code == 303, started.text
            page = browser.get(started.headers["location"])
        assert "Your business name" in page.text
    finally:
        server.stop()
