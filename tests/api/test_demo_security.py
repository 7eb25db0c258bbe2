"""The demo shop on a shared server: its form needs the browser's token, an order's raw page is
shown only to the browser that created it, and the shop is there only when it should be.

The shop stands alone here and calls a real HTTP receiver as its platform, which records every
call: a refused request must not reach it at all. (The Host header attack, against a live
server, is in tests/e2e/test_host_header.py.)
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.demo_shop.app import ShopAccount, create_shop
from kco_sandbox.demo_shop.browser import ORDERS_COOKIE, Signer
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.api.test_demo import TOKEN, assert_demo_page, shop_token
from tests.conftest import BASE_URL
from tests.factories import MERCHANT
from tests.receiver import Receiver, Reply

ORDERS = "/checkout/v3/orders"
ORDER_ID = "0b7b9a36-95cb-4d3b-8d0c-123456789abc"
ACCOUNT = ShopAccount(MERCHANT.merchant_id, MERCHANT.api_key, MERCHANT.name)
ORDER = {
    "order_id": ORDER_ID,
    "status": "checkout_incomplete",
    "order_amount": 24900,
    "purchase_currency": "SEK",
    "billing_address": {"email": "anna@example.com", "street_address": "Storgatan 1"},
    "html_snippet": "<div>snippet</div>",
}


@pytest.fixture
def platform(receiver: Receiver) -> Receiver:
    """The receiver, answering as the Checkout API would: a created order, and reads of it."""
    receiver.on(ORDERS, Reply(201, ORDER))
    receiver.on(f"{ORDERS}/{ORDER_ID}", Reply(200, ORDER))
    return receiver


@pytest.fixture
def shop(platform: Receiver) -> Iterator[TestClient]:
    """The shop at /, calling `platform`; a TestClient keeps its cookies, as a browser does."""
    app = create_shop(ACCOUNT, platform.url, lambda request: BASE_URL, secret=b"k" * 32)
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as client:
        yield client


def another_browser(shop: TestClient) -> TestClient:
    """A second browser on the same shop: no cookies of the first."""
    return TestClient(shop.app, base_url=BASE_URL, follow_redirects=False)


def order(shop: TestClient, quantity: str = "1", **form: str) -> Any:
    return shop.post("/checkout", data={"quantity": quantity, **form})


def test_a_post_with_the_browsers_token_creates_the_order(
    shop: TestClient, platform: Receiver
) -> None:
    started = order(shop, form_token=shop_token(shop, "/"))
    assert started.status_code == 303, started.text
    assert started.headers["location"] == f"{BASE_URL}/checkout?order_id={ORDER_ID}"
    assert [c.method for c in platform.calls(ORDERS)] == ["POST"]
    cookie = started.headers["set-cookie"]
    assert f"{ORDERS_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()


@pytest.mark.parametrize("presented", [None, "", "forged", "another-browsers"])
def test_a_post_without_the_right_token_is_refused_and_calls_nothing(
    shop: TestClient, platform: Receiver, presented: str | None
) -> None:
    shop_token(shop, "/")  # this browser has a session, and a page with its token
    form: dict[str, str] = {}
    if presented == "another-browsers":
        with another_browser(shop) as other:
            form["form_token"] = shop_token(other, "/")
    elif presented is not None:
        form["form_token"] = presented
    refused = order(shop, "2", **form)
    page = assert_demo_page(refused, 403)
    assert "nothing was ordered" in page
    assert 'value="2"' in page  # the form again, as it was
    assert TOKEN.search(page) is not None  # with this browser's token
    assert platform.received == []


def test_a_post_from_a_browser_without_the_session_cookie_is_refused(
    shop: TestClient, platform: Receiver
) -> None:
    """What a page of another site makes a browser send: the cookie stays home (SameSite=Lax)."""
    token = shop_token(shop, "/")
    with another_browser(shop) as elsewhere:
        assert_demo_page(order(elsewhere, form_token=token), 403)
    assert platform.received == []


def test_an_order_is_shown_only_to_the_browser_that_created_it(
    shop: TestClient, platform: Receiver
) -> None:
    assert order(shop, form_token=shop_token(shop, "/")).status_code == 303
    mine = assert_demo_page(shop.get(f"/orders/{ORDER_ID}"))
    assert "anna@example.com" in mine  # nothing masked for its own browser
    assert len(platform.calls(f"{ORDERS}/{ORDER_ID}")) == 1
    with another_browser(shop) as other:
        page = assert_demo_page(other.get(f"/orders/{ORDER_ID}"), 404)
        assert "This browser did not place that order" in page
        assert "anna@example.com" not in page
        # A cookie it made up, or one signed by another shop, lists nothing.
        listed = base64.urlsafe_b64encode(ORDER_ID.encode()).decode().rstrip("=")
        for forged in (listed, Signer(b"x" * 32).sign(ORDERS_COOKIE, listed)):
            other.cookies.set(ORDERS_COOKIE, forged)
            assert_demo_page(other.get(f"/orders/{ORDER_ID}"), 404)
    assert len(platform.calls(f"{ORDERS}/{ORDER_ID}")) == 1  # no read for the other browser


def test_the_checkout_and_confirmation_pages_need_no_cookie(
    shop: TestClient, platform: Receiver
) -> None:
    """The merchant URLs the platform sends the shopper to work in any browser."""
    with another_browser(shop) as other:
        assert "snippet" in assert_demo_page(other.get(f"/checkout?order_id={ORDER_ID}"))
        assert_demo_page(other.get(f"/confirmation?order_id={ORDER_ID}"))


# where the shop is mounted at all


def demo_answer(store: Store, clock: FrozenClock, settings: Settings) -> Any:
    app = create_app(settings, store, clock, list(settings.merchants))
    with TestClient(app, base_url=BASE_URL) as client:
        return client.get("/demo")


def test_the_demo_shop_is_on_by_default(
    store: Store, clock: FrozenClock, settings: Settings
) -> None:
    assert_demo_page(demo_answer(store, clock, settings))


@pytest.mark.parametrize(
    "changes",
    [
        {"sandbox_api": False},
        {"profile": "shared", "public_url": "https://kco.example"},
        {"demo_shop": False},
    ],
)
def test_the_demo_shop_is_absent_when_off(
    store: Store, clock: FrozenClock, settings: Settings, changes: dict[str, Any]
) -> None:
    answer = demo_answer(store, clock, replace(settings, **changes))
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "NOT_FOUND"


def test_demo_shop_puts_it_back(store: Store, clock: FrozenClock, settings: Settings) -> None:
    on = replace(settings, sandbox_api=False, demo_shop=True)
    assert_demo_page(demo_answer(store, clock, on))


def test_the_shops_cookie_stays_under_its_mount_point(client: TestClient) -> None:
    cookie = client.get("/demo").headers["set-cookie"]
    assert "demo_shop_session=" in cookie
    assert "Path=/demo;" in cookie or cookie.endswith("Path=/demo")
    assert "Secure" not in cookie  # plain http here; over https it is Secure
