"""The hosted checkout page in a real browser: a shopper buys through the iframe's steps.

A merchant page on its own origin embeds the order's `html_snippet` and records every JS API
event into `window.events` (and into the test through an exposed function, as the page itself is
left when the top window goes to the confirmation URL). Each test drives Debian's Chromium through
the steps and checks the order over the Checkout API afterwards. Screenshots of the steps go to
`KCO_SANDBOX_SCREENSHOTS` if set, else into the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.browser_support import chromium
from tests.factories import MERCHANT, make_order
from tests.live import LiveServer
from tests.receiver import Receiver, Reply

playwright_api = pytest.importorskip("playwright.sync_api")

ORDERS = "/checkout/v3/orders"
EVENT_NAMES = [
    "load",
    "user_interacted",
    "customer",
    "change",
    "billing_address_change",
    "shipping_address_change",
    "shipping_option_change",
    "order_total_change",
    "checkbox_change",
    "can_not_complete_order",
    "network_error",
    "redirect_initiated",
    "load_confirmation",
]

MERCHANT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Shop checkout</h1><div id="checkout">{snippet}</div>
<script>
  window.events = [];
  window.validationAnswers = {answers};
  function record(name, data) {{
    window.events.push([name, data]);
    if (window.recordEvent) {{ window.recordEvent(name, data); }}
  }}
  // Called before the bootstrap has loaded: the snippet's queue keeps it until then.
  window._klarnaCheckout(function (api) {{
    window.kcoApi = api;
    var handlers = {{}};
    {names}.forEach(function (name) {{
      handlers[name] = function (data) {{ record(name, data); }};
    }});
    if ({validate}) {{
      handlers.validation_callback = function (data, callback) {{
        record("validation_callback", data);
        callback(window.validationAnswers.shift() || {{should_proceed: true}});
      }};
    }}
    api.on(handlers);
  }});
</script></body></html>"""


@dataclass
class Shop:
    """The merchant's web server: checkout and confirmation pages, on its own origin."""

    url: str = ""
    pages: dict[str, Callable[[dict[str, list[str]]], str]] = field(default_factory=dict)


@pytest.fixture
def shop() -> Iterator[Shop]:
    shop = Shop()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            render = shop.pages.get(parts.path)
            body = render(parse_qs(parts.query)).encode() if render else b""
            self.send_response(200 if render else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    shop.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield shop
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One browser for the module's shoppers (each gets a page of its own)."""
    with chromium() as launched:
        yield launched


class Checkout:
    """One shopper session: the merchant page, its checkout frame and the events it saw."""

    def __init__(
        self,
        server: LiveServer,
        shop: Shop,
        browser: Any,
        shots: Path,
        order: dict[str, Any],
        answers: list[dict[str, Any]] | None = None,
        width: int = 420,
    ) -> None:
        self.server = server
        self.shop = shop
        self.shots = shots
        self.events: list[tuple[str, Any]] = []
        self.errors: list[str] = []
        validate = bool(order.get("options", {}).get("require_client_validation"))
        created = self.api("post", ORDERS, json=order)
        assert created.status_code == 201, created.text
        self.order_id: str = created.json()["order_id"]

        def merchant_page(query: dict[str, list[str]]) -> str:
            # The shop reads the order on every visit and embeds its current snippet.
            order_id = query.get("id", [self.order_id])[0]
            snippet = self.read(order_id)["html_snippet"]
            return MERCHANT_PAGE.format(
                snippet=snippet,
                names=json.dumps(EVENT_NAMES),
                validate="true" if validate else "false",
                answers=json.dumps(answers or []),
            )

        shop.pages["/checkout"] = merchant_page
        shop.pages["/confirmation"] = merchant_page
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.page.set_default_timeout(10_000)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.expose_function(
            "recordEvent", lambda name, data: self.events.append((name, data))
        )
        self.page.goto(shop.url + "/checkout")
        self.frame = self.page.frame_locator("iframe#klarna-checkout-iframe")
        self.frame.locator("#testdrive-marker").wait_for()

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        auth = (MERCHANT.merchant_id, MERCHANT.api_key)
        return httpx.request(method, self.server.url + path, auth=auth, **kwargs)

    def read(self, order_id: str | None = None) -> dict[str, Any]:
        response = self.api("get", f"{ORDERS}/{order_id or self.order_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def step(self, name: str) -> None:
        """Wait until the frame shows step `name`."""
        try:
            self.frame.locator(f"body[data-step={name}]").wait_for()
        except playwright_api.Error:
            shown = self.frame.locator("body").inner_text(timeout=1000)
            raise AssertionError(f"step {name} not shown; the frame shows:\n{shown}") from None

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def wait_event(self, name: str, count: int = 1) -> Any:
        for _ in range(100):
            found = [data for event, data in self.events if event == name]
            if len(found) >= count:
                return found[count - 1]
            self.page.wait_for_timeout(50)
        raise AssertionError(f"no {name} event (count {count}) in {self.names()}")

    def identify(self, email: str, postal_code: str = "12345") -> None:
        self.step("identify")
        self.frame.locator("#email").fill(email)
        self.frame.locator("#postal_code").fill(postal_code)
        self.shot("1-identify")
        self.frame.locator("#identify-button").click()

    def address(self, **fields: str) -> None:
        self.step("address")
        values = {
            "given_name": "Alva",
            "family_name": "Berg",
            "street_address": "Storgatan 2",
            "postal_code": "12345",
            "city": "Stockholm",
            "phone": "+46700000000",
        } | fields
        for name, value in values.items():
            locator = self.frame.locator(f"#{name}")
            if locator.evaluate("e => e.tagName") == "SELECT":
                locator.select_option(value)
            else:
                locator.fill(value)
        self.shot("2-address")
        self.frame.locator("#address-button").click()

    def pay(self, method: str = "invoice") -> None:
        self.step("payment")
        self.frame.locator(f"#payment-method-{method}").check()
        self.shot("4-payment")
        self.frame.locator("#payment-button").click()
        self.step("summary")

    def buy(self) -> None:
        self.shot("5-summary")
        self.frame.locator("#buy-button").click()

    def close(self) -> None:
        self.page.close()
        assert self.errors == []


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KCO_SANDBOX_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def checkout(
    live_server: LiveServer, shop: Shop, browser: Any, shots: Path
) -> Iterator[Callable[..., Checkout]]:
    opened: list[Checkout] = []

    def open_checkout(answers: list[dict[str, Any]] | None = None, **overrides: Any) -> Checkout:
        urls = make_order()["merchant_urls"] | {
            "confirmation": shop.url + "/confirmation?id={checkout.order.id}",
            "checkout": shop.url + "/checkout",
        }
        urls |= overrides.pop("merchant_urls", {})
        session = Checkout(
            live_server, shop, browser, shots, make_order(merchant_urls=urls, **overrides), answers
        )
        opened.append(session)
        return session

    yield open_checkout
    for session in opened:
        session.close()


SHIPPING = [
    {"id": "pickup", "name": "Pick-up point", "price": 0, "tax_amount": 0, "tax_rate": 0},
    {"id": "home", "name": "Home delivery", "price": 4900, "tax_amount": 980, "tax_rate": 2500},
]


def test_an_approved_purchase_end_to_end(checkout: Callable[..., Checkout], shop: Shop) -> None:
    session = checkout(
        shipping_options=SHIPPING,
        options={
            "additional_checkbox": {"text": "Send me news", "checked": False, "required": False}
        },
    )
    assert session.wait_event("load") == {
        "customer": {"type": "person"},
        "shipping_address": {"postal_code": None, "country": "swe"},
    }
    session.identify("alva@example.com", "11122")
    session.address(street_address="Storgatan 2", postal_code="11122")
    session.step("shipping")
    session.frame.locator("#shipping-option-1").check()
    session.shot("3-shipping")
    session.frame.locator("#shipping-button").click()
    session.pay("card")
    assert "Home delivery" in session.frame.locator("#order-lines").inner_text()
    session.frame.locator("#additional_checkbox").check()
    session.buy()
    session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")

    order = session.read()
    assert order["status"] == "checkout_complete"
    assert order["billing_address"]["given_name"] == "Alva"
    assert order["billing_address"]["street_address"] == "Storgatan 2"
    assert order["billing_address"]["email"] == "alva@example.com"
    assert order["order_amount"] == 50000 + 4900
    assert order["merchant_requested"] == {"additional_checkbox": True}
    # The confirmation page embeds the snippet of the completed order: the confirmation view.
    session.frame.locator("#confirmation-heading").wait_for()
    assert "Thank you, Alva Berg" in session.frame.locator("#confirmation-heading").inner_text()
    session.wait_event("load_confirmation")
    session.shot("6-confirmation")
    names = session.names()
    for expected in (
        "user_interacted",
        "change",
        "billing_address_change",
        "shipping_address_change",
        "shipping_option_change",
        "order_total_change",
        "checkbox_change",
        "redirect_initiated",
    ):
        assert expected in names, names
    assert session.wait_event("order_total_change") == {"order_total": 54900}
    assert session.wait_event("checkbox_change") == {"key": "additional_checkbox", "checked": True}
    assert session.wait_event("change") == {
        "email": "alva@example.com",
        "postal_code": "11122",
        "country": "swe",
    }
    assert names.index("redirect_initiated") < names.index("load_confirmation")


def test_a_separate_shipping_address_in_germany(checkout: Callable[..., Checkout]) -> None:
    session = checkout(
        purchase_country="DE",
        purchase_currency="EUR",
        locale="de-DE",
        options={"allow_separate_shipping_address": True, "title_mandatory": True},
    )
    session.identify("hans@example.com", "41460")
    session.step("address")
    frame = session.frame
    assert frame.locator("#street_address").count() == 0
    assert frame.locator("select#title option#title__option__herr").count() == 1
    frame.locator("#title").select_option("Herr")
    for name, value in {
        "given_name": "Hans",
        "family_name": "Muster",
        "street_name": "Hellersbergstraße",
        "street_number": "14",
        "postal_code": "41460",
        "city": "Neuss",
    }.items():
        frame.locator(f"#{name}").fill(value)
    frame.locator("#separate_shipping_address").check()
    frame.locator("#shipping_title").select_option("Frau")
    for name, value in {
        "given_name": "Greta",
        "family_name": "Muster",
        "street_name": "Königsallee",
        "street_number": "1",
        "postal_code": "40212",
        "city": "Düsseldorf",
    }.items():
        frame.locator(f"#shipping_{name}").fill(value)
    session.shot("address-de")
    frame.locator("#address-button").click()
    session.step("payment")
    order = session.read()
    assert order["billing_address"]["street_name"] == "Hellersbergstraße"
    assert order["billing_address"]["title"] == "Herr"
    assert "street_address" not in order["billing_address"]
    assert order["shipping_address"]["street_name"] == "Königsallee"
    assert order["shipping_address"]["given_name"] == "Greta"
    assert order["shipping_address"]["title"] == "Frau"


@pytest.mark.parametrize("status", [200, 303, 400])
def test_the_validation_callback_decides(
    checkout: Callable[..., Checkout], receiver: Receiver, shop: Shop, status: int
) -> None:
    replies = {
        200: Reply(200),
        303: Reply(303, headers={"Location": shop.url + "/checkout?problem=stock"}),
        400: Reply(400, {"error_type": "address_error", "error_text": "We do not ship there"}),
    }
    receiver.on("/validate", replies[status])
    session = checkout(merchant_urls={"validation": receiver.url + "/validate"})
    session.identify("alva@example.com")
    session.address()
    session.pay()
    session.buy()
    if status == 200:
        session.page.wait_for_url(f"{shop.url}/confirmation?id={session.order_id}")
        assert session.read()["status"] == "checkout_complete"
    elif status == 303:
        session.page.wait_for_url(f"{shop.url}/checkout?problem=stock")
        assert session.read()["status"] == "checkout_incomplete"
    else:
        session.frame.locator("#step-error").wait_for()
        assert session.frame.locator("#step-error").inner_text() == "We do not ship there"
        session.shot("validation-refused")
        assert session.read()["status"] == "checkout_incomplete"
    assert len(receiver.calls("/validate")) == 1
