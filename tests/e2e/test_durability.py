"""An accepted write survives `kill -9` of the server."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.factories import MERCHANT, make_order
from tests.live import LiveServer

AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)


def test_created_and_updated_orders_survive_sigkill(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, merchants=[MERCHANT])
    server.start()
    try:
        with httpx.Client(base_url=server.url, auth=AUTH) as client:
            urls = []
            for n in range(20):
                created = client.post("/checkout/v3/orders", json=make_order())
                assert created.status_code == 201
                urls.append(created.headers["location"])
                if n % 2:
                    updated = client.post(urls[-1], json={"merchant_reference1": f"ref-{n}"})
                    assert updated.status_code == 200
        server.kill()  # straight after the last 201/200, with no shutdown
        server.start()
        with httpx.Client(auth=AUTH) as client:
            for n, url in enumerate(urls):
                read = client.get(url)
                assert read.status_code == 200
                assert read.json().get("merchant_reference1") == (f"ref-{n}" if n % 2 else None)
    finally:
        server.stop()
