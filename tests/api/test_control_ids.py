"""An order id with a control character names no order, on every path that takes one.

PostgreSQL refuses a NUL in a string, so such an id used to reach the store and end in a 500 on
the hosted checkout page and the `/_sandbox/` paths. One rule (the `order_id` path convertor of
`web/paths.py`) now gives every handler an id that names no order: each answers as it answers
any unknown order, after authentication, on both engines.
"""

from __future__ import annotations

import uuid

import httpx2
import pytest
from starlette.testclient import TestClient

from tests.factories import make_order

BAD_IDS = ["abc%00def", "abc%01def", f"{uuid.uuid4()}%00", "%7F", "%00"]
NO_AUTH = httpx2.Auth()


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_the_hosted_page_shows_its_not_found_page(client: TestClient, bad_id: str) -> None:
    page = client.get(f"/kco/checkout/{bad_id}")
    assert page.status_code == 404, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="checkout-not-found"' in page.text
    assert "\x00" not in page.text
    assert "\x01" not in page.text
    for step in ("identify", "address", "shipping", "payment"):
        posted = client.post(f"/kco/checkout/{bad_id}/{step}", data={"email": "a@example.com"})
        assert posted.status_code == 404, (step, posted.text)
        assert 'id="checkout-not-found"' in posted.text


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_the_sandbox_paths_answer_as_for_an_unknown_order(client: TestClient, bad_id: str) -> None:
    calls: list[tuple[str, str, dict[str, str] | None]] = [
        ("POST", "/_sandbox/orders/{}/complete", {}),
        ("GET", "/_sandbox/orders/{}/events", None),
        ("POST", "/_sandbox/orders/{}/fraud-stop", None),
    ]
    for method, path, body in calls:
        unknown = client.request(method, path.format(uuid.uuid4()), json=body)
        answer = client.request(method, path.format(bad_id), json=body)
        assert answer.status_code == unknown.status_code == 404, (path, answer.text)
        assert answer.json()["error_code"] == unknown.json()["error_code"]
        assert answer.json()["correlation_id"] == answer.headers["Klarna-Correlation-Id"]


def test_the_sandbox_id_check_comes_after_authentication(client: TestClient) -> None:
    answer = client.get("/_sandbox/orders/abc%00def/events", auth=NO_AUTH)
    assert answer.status_code == 401, answer.text


def test_a_real_order_is_still_found_on_every_path(client: TestClient) -> None:
    order_id = client.post("/checkout/v3/orders", json=make_order()).json()["order_id"]
    assert client.get(f"/kco/checkout/{order_id}").status_code == 200
    assert client.get(f"/_sandbox/orders/{order_id}/events").status_code == 200
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={"email": "c@example.com"})
    assert done.status_code == 200, done.text
