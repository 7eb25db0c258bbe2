"""Racing Order Management writes on a live server: exactly the allowed ones succeed.

Runs on SQLite (the live server's default) and on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kco_sandbox.store import Store
from tests.factories import MERCHANT, make_order
from tests.live import LiveServer

AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    database_url = None
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_url")
        Store.for_url(database_url).close()  # the schema, as `kco-sandbox db upgrade` makes it
    live = LiveServer(tmp_path, merchants=[MERCHANT], database_url=database_url)
    live.start()
    yield live
    live.stop()


def completed_order(server: LiveServer, client: httpx.Client) -> str:
    created = client.post(server.url + "/checkout/v3/orders", json=make_order())
    order_id: str = created.json()["order_id"]
    done = client.post(f"{server.url}/_sandbox/orders/{order_id}/complete", json={})
    assert done.status_code == 200, done.text
    return order_id


def test_racing_captures_never_exceed_the_authorization(server: LiveServer) -> None:
    with httpx.Client(auth=AUTH, timeout=30) as client:
        order_id = completed_order(server, client)
        url = f"{server.url}/ordermanagement/v1/orders/{order_id}"

        def capture(_: int) -> int:
            return client.post(url + "/captures", json={"captured_amount": 5000}).status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = Counter(pool.map(capture, range(40)))
        assert statuses == {201: 10, 403: 30}
        order = client.get(url).json()
        assert (order["captured_amount"], order["status"]) == (50000, "CAPTURED")
        assert len(order["captures"]) == 10
        references = {c["klarna_reference"] for c in order["captures"]}
        assert len(references) == 10


def test_a_cancel_racing_captures_wins_only_alone(server: LiveServer) -> None:
    with httpx.Client(auth=AUTH, timeout=30) as client:
        for _ in range(3):
            order_id = completed_order(server, client)
            url = f"{server.url}/ordermanagement/v1/orders/{order_id}"

            def act(n: int, url: str = url) -> tuple[str, int]:
                if n == 4:
                    return "cancel", client.post(url + "/cancel").status_code
                body = {"captured_amount": 1000}
                return "capture", client.post(url + "/captures", json=body).status_code

            with ThreadPoolExecutor(max_workers=9) as pool:
                results = list(pool.map(act, range(9)))
            order = client.get(url).json()
            cancelled = ("cancel", 204) in results
            captured = sum(1 for kind, status in results if kind == "capture" and status == 201)
            if cancelled:
                assert order["status"] == "CANCELLED"
                assert order["captured_amount"] == 1000 * captured
                assert captured == 0
            else:
                assert order["captured_amount"] == 1000 * captured > 0
                assert order["status"] == "PART_CAPTURED"


def test_captures_survive_sigkill(server: LiveServer) -> None:
    with httpx.Client(auth=AUTH, timeout=30) as client:
        order_id = completed_order(server, client)
        url = f"{server.url}/ordermanagement/v1/orders/{order_id}"
        ids = [
            client.post(url + "/captures", json={"captured_amount": 100}).headers["capture-id"]
            for _ in range(5)
        ]
        refund = client.post(url + "/refunds", json={"refunded_amount": 50})
        assert refund.status_code == 201
    server.kill()
    server.start()
    with httpx.Client(auth=AUTH, timeout=30) as client:
        order = client.get(f"{server.url}/ordermanagement/v1/orders/{order_id}").json()
    assert [c["capture_id"] for c in order["captures"]] == ids
    assert (order["captured_amount"], order["refunded_amount"]) == (500, 50)
