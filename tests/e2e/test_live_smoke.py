from __future__ import annotations

import httpx

from tests.factories import MERCHANT, make_order
from tests.live import LiveServer


def test_live_server_creates_and_reads_an_order(live_server: LiveServer) -> None:
    auth = (MERCHANT.merchant_id, MERCHANT.api_key)
    created = httpx.post(live_server.url + "/checkout/v3/orders", json=make_order(), auth=auth)
    assert created.status_code == 201
    read = httpx.get(created.headers["Location"], auth=auth)
    assert read.status_code == 200
    assert read.json()["order_id"] == created.json()["order_id"]
