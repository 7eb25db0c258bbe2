"""While a merchant callback is in flight the order is locked against merchant updates."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from tests.factories import MERCHANT, make_order
from tests.live import LiveServer
from tests.receiver import Receiver, Reply

AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)


def test_updates_wait_for_the_validation_callback(
    live_server: LiveServer, receiver: Receiver
) -> None:
    receiver.on("/validate", Reply(200, delay=1.5))
    urls = make_order()["merchant_urls"] | {"validation": receiver.url + "/validate"}
    created = httpx.post(
        live_server.url + "/checkout/v3/orders", json=make_order(merchant_urls=urls), auth=AUTH
    )
    order_url = created.headers["location"]
    order_id = created.json()["order_id"]
    result: dict[str, Any] = {}

    def buy() -> None:
        result["response"] = httpx.post(
            f"{live_server.url}/_sandbox/orders/{order_id}/complete",
            json={},
            auth=AUTH,
            timeout=30,
        )

    shopper = threading.Thread(target=buy)
    shopper.start()
    deadline = time.monotonic() + 10
    while not receiver.calls("/validate") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.calls("/validate"), "the validation callback was never made"
    during = httpx.post(order_url, json={"merchant_reference1": "too late"}, auth=AUTH)
    assert during.status_code == 403
    assert during.json()["error_code"] == "READ_ONLY_ORDER"
    assert during.json()["error_messages"] == [
        "The order is locked while a merchant callback is in flight"
    ]
    assert httpx.get(order_url, auth=AUTH).status_code == 200  # reading is fine
    shopper.join(timeout=20)
    assert result["response"].status_code == 200
    after = httpx.get(order_url, auth=AUTH).json()
    assert after["status"] == "checkout_complete"
    assert "merchant_reference1" not in after
