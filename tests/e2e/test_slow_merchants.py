"""One merchant's slow synchronous callbacks do not slow down another merchant's API requests.

A live server runs with two merchants. Merchant A's shop answers its `address_update` callback
only after `DELAY` seconds (a real HTTP receiver that sleeps). 45 of A's shoppers post their
address on the hosted checkout page at once, so 45 posts wait on A's shop: `merchant_callback_slots`
(8) of them in the call, the rest for a slot. While they all wait, merchant B (a German shop)
creates 20 orders and reads them back through the Checkout API, one request at a time. Every one of
B's requests must succeed, and the slowest must take far less than one of A's callbacks: B never
waits for a thread that A's shoppers hold. Had A's posts run on the threads the API uses (as they
did before), B's first create would wait until A's first callbacks answered (about 2.5 s here).

The headless purchase, `POST /_sandbox/orders/{id}/complete`, runs the same steps and callbacks
on the same merchant's threads; the second test puts the same load through it.

B's latencies (p50 and max) are printed (`pytest -s`) and recorded as test properties.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.callback_support import wait_for
from tests.factories import MERCHANT, OTHER_MERCHANT, make_line, make_order
from tests.live import LiveServer
from tests.page_support import ADDRESS, token_in
from tests.receiver import Receiver, Reply

A_AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)
B_AUTH = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)
ORDERS = "/checkout/v3/orders"
DELAY = 3.0  # seconds A's shop takes to answer each callback
SHOPPERS = 45  # A's shoppers waiting on A's shop at once
SLOTS = 8  # the default `--merchant-callback-slots`
B_REQUESTS = 20  # creates, then as many reads
B_LIMIT = 1.5  # seconds: B's slowest request, well under DELAY
# A's shop answers with the cart unchanged (a valid `address_update` answer), just late.
CART = {
    "order_amount": 50000,
    "order_tax_amount": 4545,
    "order_lines": [make_line()],
    "purchase_currency": "SEK",
}

# One of A's shoppers' steps that waits on A's shop: prepared before the load, then sent.
Step = Callable[[httpx.Client], int]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path, merchants=[MERCHANT, OTHER_MERCHANT])
    live.start()
    try:
        yield live
    finally:
        live.stop()


def create_for_a(client: httpx.Client, urls: dict[str, str]) -> str:
    merchant_urls = make_order()["merchant_urls"] | urls
    created = client.post(ORDERS, json=make_order(merchant_urls=merchant_urls), auth=A_AUTH)
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    return order_id


def form_token(client: httpx.Client, order_id: str) -> str:
    """The hidden `form_token` of the order's checkout forms, read from the page as a browser
    would."""
    html = client.get(f"/kco/checkout/{order_id}").text
    token = token_in(html)
    assert token, html[:500]
    return token


def address_post(client: httpx.Client, receiver: Receiver) -> Step:
    """An A shopper past the e-mail step; the step posts the address (`address_update`)."""
    order_id = create_for_a(client, {"address_update": receiver.url + "/address_update"})
    token = form_token(client, order_id)
    identified = client.post(
        f"/kco/checkout/{order_id}/identify",
        data={"form_token": token, "email": "a@example.com", "postal_code": "11122"},
    )
    assert identified.status_code == 303, identified.text

    def step(browser: httpx.Client) -> int:
        posted = browser.post(
            f"/kco/checkout/{order_id}/address", data={"form_token": token, **ADDRESS}
        )
        return posted.status_code

    return step


def headless_purchase(client: httpx.Client, receiver: Receiver) -> Step:
    """An A order whose `validation` is slow; the step completes it through the sandbox API."""
    order_id = create_for_a(client, {"validation": receiver.url + "/validation"})

    def step(api: httpx.Client) -> int:
        done = api.post(
            f"/_sandbox/orders/{order_id}/complete", json={"email": "a@example.com"}, auth=A_AUTH
        )
        return done.status_code

    return step


def timed(send: Callable[[], httpx.Response], expected: int) -> tuple[float, httpx.Response]:
    """Seconds `send` took, and its response (which must have the status `expected`)."""
    started = time.perf_counter()
    response = send()
    took = time.perf_counter() - started
    assert response.status_code == expected, response.text
    return took, response


def b_requests(b: httpx.Client, count: int) -> list[float]:
    """B's creates, then reads of what it created, one at a time; each one's seconds."""
    order = make_order(purchase_country="DE", purchase_currency="EUR", locale="de-DE")
    created = [timed(lambda: b.post(ORDERS, json=order), 201) for _ in range(count)]
    order_ids: list[str] = [response.json()["order_id"] for _, response in created]
    read = [timed(partial(b.get, f"{ORDERS}/{order_id}"), 200) for order_id in order_ids]
    return [took for took, _ in created + read]


def b_under_a_load(
    server: LiveServer,
    receiver: Receiver,
    callback_path: str,
    prepare: Callable[[httpx.Client, Receiver], Step],
    record_property: Callable[[str, Any], None],
) -> None:
    receiver.on(callback_path, Reply(200, body=CART, delay=DELAY))
    many = httpx.Limits(max_connections=SHOPPERS * 2, max_keepalive_connections=SHOPPERS * 2)
    with (
        httpx.Client(base_url=server.url, timeout=60, limits=many) as a,
        httpx.Client(base_url=server.url, auth=B_AUTH, timeout=60) as b,
    ):
        b_requests(b, 1)  # warm: B's connection, the first create's one-off work
        steps = [prepare(a, receiver) for _ in range(SHOPPERS)]
        with ThreadPoolExecutor(max_workers=SHOPPERS) as pool:
            pending: list[Future[int]] = [pool.submit(step, a) for step in steps]
            # A's shop holds SLOTS calls; the other shoppers' requests queue behind them.
            assert wait_for(lambda: len(receiver.calls(callback_path)) >= SLOTS, timeout=10)
            time.sleep(0.5)  # time for the other posts to reach the server and queue
            assert not any(f.done() for f in pending)
            latencies = b_requests(b, B_REQUESTS)
            still_waiting = sum(not f.done() for f in pending)
            a_statuses = [f.result() for f in pending]
    creates, reads = latencies[:B_REQUESTS], latencies[B_REQUESTS:]
    p50, slowest = statistics.median(latencies), max(latencies)
    summary = (
        f"B under A's load: p50 {p50 * 1000:.1f} ms, max {slowest * 1000:.1f} ms "
        f"(creates max {max(creates) * 1000:.1f} ms, reads max {max(reads) * 1000:.1f} ms)"
    )
    print(summary)
    record_property("b_p50_ms", round(p50 * 1000, 1))
    record_property("b_max_ms", round(slowest * 1000, 1))
    assert slowest < B_LIMIT, summary
    # B was measured while all of A's shoppers were still waiting on A's shop, and each of them
    # got an answer in the end (A's later callbacks time out waiting for a slot: not a 5xx).
    assert still_waiting == SHOPPERS
    assert all(status < 500 for status in a_statuses), a_statuses


def test_slow_callbacks_of_one_merchants_shoppers_do_not_hold_up_another_merchant(
    server: LiveServer, receiver: Receiver, record_property: Callable[[str, Any], None]
) -> None:
    b_under_a_load(server, receiver, "/address_update", address_post, record_property)


def test_slow_headless_purchases_of_one_merchant_do_not_hold_up_another_merchant(
    server: LiveServer, receiver: Receiver, record_property: Callable[[str, Any], None]
) -> None:
    b_under_a_load(server, receiver, "/validation", headless_purchase, record_property)
