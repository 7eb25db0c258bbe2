"""The portal's orders list, order page and the landing page `/`, through the real app on both
engines; and the foundation's sign-in session (wrong passwords, throttle, sign-out, `next`)."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from kco_sandbox import __version__
from kco_sandbox.clock import FrozenClock
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order
from tests.receiver import Receiver

ORDERS = "/checkout/v3/orders"
OM = "/ordermanagement/v1/orders"
MADE_UP = "00000000-0000-4000-8000-000000000000"
ROW_LINK = re.compile(r'href="/portal/orders/([0-9a-f-]{36})"')
OTHER_AUTH = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)


def sign_in(client: TestClient, merchant: Merchant = MERCHANT, next_: str = "") -> Any:
    form = {"username": merchant.merchant_id, "password": merchant.api_key, "next": next_}
    return client.post("/portal/sign-in", data=form, follow_redirects=False)


def create(client: TestClient, **overrides: Any) -> str:
    response = client.post(ORDERS, json=make_order(**overrides))
    assert response.status_code == 201, response.text
    return str(response.json()["order_id"])


def create_for_other(client: TestClient, **overrides: Any) -> str:
    body = make_order(purchase_country="DE", purchase_currency="EUR", locale="de-DE", **overrides)
    response = client.post(ORDERS, json=body, auth=OTHER_AUTH)
    assert response.status_code == 201, response.text
    return str(response.json()["order_id"])


def complete(client: TestClient, order_id: str) -> None:
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    assert done.status_code == 200, done.text


def listed(client: TestClient, query: str = "") -> tuple[list[str], str]:
    """The order ids the list shows (in order), and the page."""
    response = client.get("/portal/orders" + query)
    assert response.status_code == 200, response.text
    return ROW_LINK.findall(response.text), response.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


# The orders list


def test_the_list_shows_the_merchants_own_orders_only(client: TestClient) -> None:
    mine = create(client, merchant_reference1="mine-1")
    theirs = create_for_other(client, merchant_reference1="theirs-1")
    sign_in(client)

    ids, html = listed(client)

    assert ids == [mine]
    assert theirs not in html
    assert "theirs-1" not in html
    assert "500.00 SEK" in html  # 50000 minor units
    assert "mine-1" in html
    assert ">SE<" in html
    assert '<span class="badge info">incomplete</span>' in html


def test_the_list_filters_by_status_and_searches_ids_and_references(
    client: TestClient, clock: FrozenClock
) -> None:
    first = create(client, merchant_reference1="ORDER-1001", merchant_reference2="cart-7")
    clock.advance(timedelta(seconds=1))
    second = create(client, merchant_reference1="ORDER-2002")
    clock.advance(timedelta(seconds=1))
    third = create(client)
    complete(client, second)
    sign_in(client)

    assert listed(client)[0] == [third, second, first]  # newest first
    assert listed(client, "?status=checkout_complete")[0] == [second]
    assert listed(client, "?status=checkout_incomplete")[0] == [third, first]
    assert listed(client, "?status=aborted")[0] == []
    assert listed(client, "?status=no-such-status")[0] == [third, second, first]
    # A reference by its start, in any case; the second reference too; an id by its start.
    assert listed(client, "?q=order-1")[0] == [first]
    assert listed(client, "?q=ORDER")[0] == [second, first]
    assert listed(client, "?q=cart-7")[0] == [first]
    assert listed(client, f"?q={third[:13]}")[0] == [third]
    assert listed(client, "?q=ORDER&status=checkout_complete")[0] == [second]
    # LIKE's wildcards are searched for as text, and a reference is not searched by its middle.
    assert listed(client, "?q=%25")[0] == []
    assert listed(client, "?q=_")[0] == []
    assert listed(client, "?q=1001")[0] == []
    # Another merchant's reference finds nothing here.
    create_for_other(client, merchant_reference1="ORDER-3003")
    assert listed(client, "?q=ORDER-3")[0] == []

    html = listed(client, "?q=nothing-like-this")[1]
    assert "No orders here" in html
    assert 'href="/portal/orders"' in html


def test_expired_orders_are_listed_as_expired(client: TestClient, clock: FrozenClock) -> None:
    old = create(client)
    clock.advance(timedelta(hours=49))
    new = create(client)
    sign_in(client)

    assert listed(client, "?status=expired")[0] == [old]
    assert listed(client, "?status=checkout_incomplete")[0] == [new]
    ids, html = listed(client)
    assert ids == [new, old]
    assert '<span class="badge warn">expired</span>' in html


def test_the_empty_list_says_how_to_create_an_order(client: TestClient) -> None:
    sign_in(client)

    ids, html = listed(client)

    assert ids == []
    assert "No orders yet" in html
    assert f"curl -u {MERCHANT.merchant_id}:$KCO_KEY" in html
    assert "http://testserver/checkout/v3/orders" in html


def test_sixty_orders_make_two_pages(client: TestClient) -> None:
    created = [create(client, merchant_reference1=f"ref-{n:02d}") for n in range(60)]
    sign_in(client)

    first, html = listed(client)
    assert len(first) == 50
    assert "Newer orders" not in html
    older = re.search(r'href="(/portal/orders\?before=[^"]+)"', html)
    assert older, "no link to the older orders"

    second, html = listed(client, older.group(1).removeprefix("/portal/orders"))
    assert len(second) == 10
    assert "Older orders" not in html
    newer = re.search(r'href="(/portal/orders\?after=[^"]+)"', html)
    assert newer, "no link back to the newer orders"

    # Every order once, newest first (the frozen clock starts them all in the same instant, so
    # the order id orders them).
    assert first + second == sorted(created, reverse=True)
    assert listed(client, newer.group(1).removeprefix("/portal/orders"))[0] == first
    # A cursor that is not one the list gave shows the newest page.
    assert listed(client, "?before=not-a-cursor")[0] == first


# The order page


def test_the_order_page_shows_lines_amounts_and_the_timeline(client: TestClient) -> None:
    order_id = create(client, merchant_reference1="1001", merchant_reference2="cart-9")
    client.get(f"{ORDERS}/{order_id}")
    sign_in(client)

    response = client.get(f"/portal/orders/{order_id}")

    assert response.status_code == 200
    html = response.text
    assert "T-Shirt" in html
    assert "19-402" in html
    assert "500.00 SEK" in html
    assert "100.00 SEK" in html
    assert "10%" in html
    assert "1001" in html
    assert "cart-9" in html
    assert "en-SE" in html
    assert f'data-live="/portal/orders/{order_id}/live?from=' in html  # from where it was read
    assert f'href="/portal/orders/{order_id}/export.json"' in html
    assert f'href="/portal/orders/{order_id}/export.har"' in html
    assert f"GET /checkout/v3/orders/{order_id} (JSON)" in html  # the raw answer, collapsed
    assert "<details" in html
    assert 'id="om-title"' not in html  # no Order Management order before completion
    timeline = html[html.index('id="timeline"') :]
    assert f"GET {ORDERS}/{order_id}" in timeline
    assert '<span class="badge ok">200</span>' in timeline


def test_the_order_page_shows_order_management_after_a_capture(client: TestClient) -> None:
    order_id = create(client)
    complete(client, order_id)
    captured = client.post(
        f"{OM}/{order_id}/captures", json={"captured_amount": 20000, "description": "First box"}
    )
    assert captured.status_code == 201, captured.text
    capture_id = captured.headers["Capture-Id"]
    sign_in(client)

    html = client.get(f"/portal/orders/{order_id}").text

    assert "Order Management: PART_CAPTURED" in html
    om = html[html.index('id="om-title"') :]
    assert capture_id in om
    assert "First box" in om
    assert "200.00 SEK" in om
    assert "300.00 SEK" in om
    assert "No refunds." in om
    assert f"GET /ordermanagement/v1/orders/{order_id} (JSON)" in om
    timeline = html[html.index('id="timeline"') :]
    assert "Shopper: completed" in timeline
    assert f"POST {OM}/{order_id}/captures" in timeline
    assert '<span class="badge ok">201</span>' in timeline
    assert listed(client, "?status=checkout_complete")[1].count("PART_CAPTURED") == 1


def test_the_timeline_is_read_a_hundred_entries_a_page(client: TestClient) -> None:
    order_id = create(client)
    for _ in range(104):
        client.get(f"{ORDERS}/{order_id}")
    sign_in(client)

    html = client.get(f"/portal/orders/{order_id}").text
    assert html.count('<li class="entry ') == 100
    later = re.search(r'href="(/portal/orders/[^"?]+\?after=[^"#]+)#timeline"', html)
    assert later, "no link to the later entries"
    assert "data-live=" not in html  # new entries arrive on the last page, not this one

    rest = client.get(later.group(1)).text
    assert rest.count('<li class="entry ') == 5  # the create and 104 reads
    assert "Later entries" not in rest
    assert f'data-live="/portal/orders/{order_id}/live?from=' in rest
    assert "From the start" in rest
    mangled = client.get(f"/portal/orders/{order_id}?after=nonsense").text
    assert "not valid" in mangled
    assert mangled.count('<li class="entry ') == 100


def test_another_merchants_order_is_not_found(client: TestClient) -> None:
    theirs = create_for_other(client, merchant_reference1="secret-ref")
    sign_in(client)

    for order_id in (theirs, MADE_UP, "not an id"):
        response = client.get(f"/portal/orders/{order_id}")
        assert response.status_code == 404
        assert "Order not found" in response.text
        assert "secret-ref" not in response.text


def test_pages_redirect_to_sign_in_without_a_session(client: TestClient) -> None:
    order_id = create(client)

    for path in ("/portal/orders?status=aborted", f"/portal/orders/{order_id}"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/portal/sign-in?next=/portal/orders")


def test_what_a_merchant_wrote_is_shown_as_text(client: TestClient) -> None:
    script = "<script>alert(1)</script>"
    order_id = create(client, merchant_reference1=script, merchant_reference2='"><img src=x>')
    sign_in(client)

    for page in (client.get("/portal/orders").text, client.get(f"/portal/orders/{order_id}").text):
        assert script not in page
        assert "<img src=x>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert listed(client, "?q=%3Cscript")[0] == [order_id]


def test_portal_pages_carry_the_portals_headers(client: TestClient) -> None:
    order_id = create(client)
    sign_in(client)

    for path in ("/portal/orders", f"/portal/orders/{order_id}"):
        response = client.get(path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert "<script>" not in response.text
        assert re.findall(r"<[a-z][^>]*\sstyle=", response.text) == []  # no inline style


# The landing page


def test_the_landing_page_says_what_runs_in_html(client: TestClient, store: Store) -> None:
    response = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    html = response.text
    assert __version__ in html
    assert store.engine.dialect.name in html
    assert 'href="/portal"' in html
    # The portal's bare address, as `serve` prints it, leads to the orders (via sign-in).
    for portal in ("/portal", "/portal/"):
        assert client.get(portal, follow_redirects=False).headers["location"] == "/portal/orders"
    assert 'href="/demo"' in html
    assert 'href="/_sandbox/health"' in html
    assert "docs/checkout-api.md" in html
    # `*/*` (curl's default) gets the page too.
    assert client.get("/", headers={"Accept": "*/*"}).headers["content-type"].startswith("text/")


def test_the_landing_page_answers_json_when_asked(client: TestClient, store: Store) -> None:
    response = client.get("/", headers={"Accept": "application/json"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["version"] == __version__
    assert body["database"] == {"engine": store.engine.dialect.name, "status": "ok"}
    assert body["worker"] == "off"
    assert body["profile"] == "local"
    assert body["clock"].endswith("Z")
    assert body["links"]["demo_shop"] == "http://testserver/demo"
    assert body["links"]["health"] == "http://testserver/_sandbox/health"
    assert "docs/sandbox-api.md" in body["docs"]
    # The database is named, never reached by its URL (which may hold a password).
    assert str(store.engine.url.database) not in response.text
    html_preferred = "application/json;q=0.5, text/html"
    assert client.get("/", headers={"Accept": html_preferred}).text.startswith("<!doctype html>")


def test_the_landing_page_leaves_the_demo_shop_out_when_it_is_off(
    settings: Settings, store: Store, clock: FrozenClock, merchant_http: MerchantHttp
) -> None:
    off = dataclasses.replace(settings, demo_shop=False)
    for merchant in off.merchants:
        store.merchants.put(merchant, clock.now())
    app = create_app(off, store, clock, list(off.merchants), caller=merchant_http)
    with TestClient(app, base_url="http://testserver") as shop_off:
        body = shop_off.get("/", headers={"Accept": "application/json"}).json()
        html = shop_off.get("/").text
    assert body["links"]["demo_shop"] is None
    assert 'href="/demo"' not in html


# The foundation's session


def test_a_wrong_password_is_401_and_signs_nobody_in(client: TestClient) -> None:
    form = {"username": MERCHANT.merchant_id, "password": "wrong", "next": ""}
    response = client.post("/portal/sign-in", data=form, follow_redirects=False)

    assert response.status_code == 401
    assert "do not match" in response.text
    assert client.get("/portal/orders", follow_redirects=False).status_code == 303


def test_five_wrong_passwords_throttle_the_sixth_try(client: TestClient) -> None:
    form = {"username": MERCHANT.merchant_id, "password": "wrong", "next": ""}
    for _ in range(5):
        assert client.post("/portal/sign-in", data=form).status_code == 401

    refused = sign_in(client)  # even the right password, while throttled

    assert refused.status_code == 429
    assert "Too many wrong passwords" in refused.text
    # Another user name from the same client is not held up.
    assert sign_in(client, OTHER_MERCHANT).status_code == 303


def test_signing_out_needs_the_form_token(client: TestClient) -> None:
    assert sign_in(client).status_code == 303
    page = client.get("/portal/orders").text

    forged = client.post("/portal/sign-out", data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert client.get("/portal/orders", follow_redirects=False).status_code == 200

    done = client.post(
        "/portal/sign-out", data={"csrf_token": csrf_of(page)}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/portal/sign-in"
    assert client.get("/portal/orders", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/portal", "//evil.example/portal", "/elsewhere", "javascript:alert(1)"],
)
def test_next_cannot_leave_the_portal(client: TestClient, target: str) -> None:
    response = sign_in(client, next_=target)

    assert response.status_code == 303
    assert response.headers["location"] == "/portal/orders"


def test_next_within_the_portal_is_followed(client: TestClient) -> None:
    order_id = create(client)

    response = sign_in(client, next_=f"/portal/orders/{order_id}")

    assert response.headers["location"] == f"/portal/orders/{order_id}"


def test_the_order_page_says_when_each_callback_is_tried_next(
    client: TestClient, receiver: Receiver
) -> None:
    urls = make_order()["merchant_urls"] | {"push": f"{receiver.url}/push?token=secret"}
    created = client.post(ORDERS, json=make_order(merchant_urls=urls))
    order_id = created.json()["order_id"]
    assert client.post(f"/_sandbox/orders/{order_id}/complete", json={}).status_code == 200
    sign_in(client)
    html = client.get(f"/portal/orders/{order_id}").text
    start = html.index(">Callbacks</h2>")
    section = html[start : html.index("</section>", start)]
    assert f"{receiver.url}/push</code>" in section  # its query (a token) is not shown here
    assert "token=secret" not in section
    assert '<span class="badge' in section
    assert "pending" in section
    assert "12:02" in section  # the first push is due two minutes after the purchase
