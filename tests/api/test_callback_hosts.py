"""Where callbacks may go: host patterns, private addresses, DNS pinned to the checked address.

Real HTTP: the edge calls a real receiver on 127.0.0.1; a resolver passed to the edge stands in
for DNS where a test needs a name to resolve somewhere (the system resolver is the default).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock, MerchantClocks
from kco_sandbox.domain.delivery import Delivery
from kco_sandbox.outbound.merchant_http import MerchantHttp, Resolver
from kco_sandbox.platform import create_app
from kco_sandbox.services.delivery import DeliveryService
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.api.test_delivery import attempts, queue, standing
from tests.conftest import BASE_URL
from tests.factories import MERCHANT, make_order
from tests.receiver import Receiver


def resolver(table: dict[str, Sequence[str]]) -> Resolver:
    def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


def port_of(receiver: Receiver) -> int:
    return int(receiver.url.rsplit(":", 1)[1])


def test_a_host_no_pattern_names_is_refused_and_nothing_is_sent(receiver: Receiver) -> None:
    with MerchantHttp(callback_hosts=("shop.example", "*.example.com")) as http:
        call = http.post(receiver.url.replace("http://", "http://u:p@") + "/cb", b"{}", 2)
    assert call.answer.status is None
    assert call.answer.error == "refused: host 127.0.0.1 is not an allowed callback host"
    assert receiver.calls("/cb") == []


def test_private_addresses_are_refused_without_a_pattern(receiver: Receiver) -> None:
    with MerchantHttp(private_callbacks=False) as http:
        for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost")):
            answer = http.post(url + "/cb", b"", 2).answer
            assert answer.status is None
            assert answer.error is not None
            assert answer.error.startswith("refused: host ")
            assert "resolves to a private address" in answer.error
    assert receiver.calls("/cb") == []


def test_every_resolved_address_is_checked(receiver: Receiver) -> None:
    resolve = resolver({"shop.test": ["93.184.215.14", "10.1.2.3"]})
    with MerchantHttp(private_callbacks=False, resolve=resolve) as http:
        answer = http.post("http://shop.test/cb", b"", 2).answer
    assert answer.error == "refused: host shop.test resolves to a private address (10.1.2.3)"


def test_a_named_host_may_be_private_and_is_called_at_the_address_checked(
    receiver: Receiver,
) -> None:
    """`shop.test` is in no DNS: the call reaching the receiver proves it went to the address
    resolved once (no second look-up), with the URL's own Host header and Basic auth."""
    port = port_of(receiver)
    resolve = resolver({"shop.test": ["127.0.0.1"]})
    with MerchantHttp(
        callback_hosts=(f"SHOP.test:{port}",),
        private_callbacks=False,
        resolve=resolve,
    ) as http:
        call = http.post(f"http://user:secret@shop.test:{port}/cb", b"{}", 2)
        assert call.answer.status == 200, call.answer.error
        other_port = http.post(f"http://shop.test:{port + 1}/cb", b"", 2).answer
    [received] = receiver.calls("/cb")
    assert received.headers["Host"] == f"shop.test:{port}"
    assert received.headers["Authorization"] == "Basic " + base64.b64encode(b"user:secret").decode(
        "ascii"
    )
    assert other_port.error == "refused: host shop.test is not an allowed callback host"


def test_a_public_address_is_pinned_too(receiver: Receiver) -> None:
    """Private callbacks off, no patterns: a public name is called at the address checked."""
    with MerchantHttp(private_callbacks=False, resolve=resolver({"a.test": ["127.0.0.1"]})) as h:
        assert "private address (127.0.0.1)" in (
            h.post("http://a.test/", b"", 1).answer.error or ""
        )


@pytest.fixture
def guarded(store: Store, clock: FrozenClock, settings: Settings) -> TestClient:
    """The app as `build_services` makes it (its own edge) with callback hosts set."""
    settings = replace(settings, callback_hosts=("shop.example", "*.example.com"))
    for merchant in settings.merchants:
        store.merchants.put(merchant, clock.now())
    client = TestClient(
        create_app(settings, store, clock, list(settings.merchants)), base_url=BASE_URL
    )
    client.auth = (MERCHANT.merchant_id, MERCHANT.api_key)
    return client


def test_a_callback_url_on_another_host_is_refused_at_create_and_update(
    guarded: TestClient,
) -> None:
    urls = make_order()["merchant_urls"]
    for name, url in [
        ("push", "https://evil.test/push"),
        ("validation", "https://example.com/validate"),  # `*.example.com` is sub-domains only
        ("notification", "http://127.0.0.1:6379/"),
    ]:
        bad = make_order(merchant_urls=urls | {name: url})
        created = guarded.post("/checkout/v3/orders", json=bad)
        assert created.status_code == 400, created.text
        assert created.json()["error_messages"] == [f"Bad value: merchant_urls.{name}"]
    good = make_order(
        merchant_urls=urls
        | {"push": "https://shop.example/push", "validation": "https://api.example.com/v"}
    )
    created = guarded.post("/checkout/v3/orders", json=good)
    assert created.status_code == 201, created.text
    order_url = f"/checkout/v3/orders/{created.json()['order_id']}"
    changed = guarded.post(order_url, json={"merchant_urls": urls | {"push": "https://x.test/"}})
    assert changed.status_code == 400
    assert changed.json()["error_code"] == "BAD_VALUE"
    assert changed.json()["error_messages"] == ["Bad value: merchant_urls.push"]


def test_a_refused_push_is_an_attempt_with_its_reason_and_keeps_its_schedule(
    store: Store, clock: FrozenClock, receiver: Receiver
) -> None:
    with MerchantHttp(private_callbacks=False) as http:
        service = DeliveryService(MerchantClocks(clock), store, http, Delivery(timeout=1))
        start = clock.now()
        queue(store, clock, receiver.url + "/push")
        clock.advance(timedelta(minutes=2))
        assert service.deliver_due() == 1
    [attempt] = attempts(store)
    assert attempt["status"] is None
    assert attempt["error"] == "refused: host 127.0.0.1 resolves to a private address (127.0.0.1)"
    assert standing(store)["next_attempt_at"] == start + timedelta(minutes=7)
    assert receiver.calls("/push") == []
