"""Replay the vendor's recorded Customer Token exchanges and compare our answers with them.

The recorded token does not exist here, so each case first mints one of its own (a recurring
checkout order, completed), then sends the recorded request with that token in the path (an
empty token segment stays empty), and compares with the recorded answer: the status, the
contract's headers (`Content-Type`, `Klarna-Correlation-Id`), and the body's shape: the same
keys, with values of the same JSON type, recursively. Values are compared where they are not
per-call (`fraud_status`, `authorized_payment_method`, the error code and messages).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from tests.conformance.recordings import recordings
from tests.factories import make_order

PREFIX = "/customer-token/v1/tokens/"
PER_CALL_KEYS = {"order_id", "correlation_id"}
# Optional in the vendor's error body, sent on every error of ours (`web/errors.py`).
EXTRA_ERROR_KEYS = {"service_version"}


def token_cases() -> list[dict[str, Any]]:
    return [r for r in recordings() if PREFIX in r["request"]["uri"]]


def shape(value: Any) -> Any:
    """The value's JSON shape: keys kept, leaves reduced to their JSON type."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def mint(client: TestClient) -> str:
    order_id = client.post("/checkout/v3/orders", json=make_order(recurring=True)).json()[
        "order_id"
    ]
    assert client.post(f"/_sandbox/orders/{order_id}/complete", json={}).status_code == 200
    token: str = client.get(f"/checkout/v3/orders/{order_id}").json()["recurring_token"]
    return token


def test_the_recordings_hold_customer_token_cases() -> None:
    assert len(token_cases()) == 4


@pytest.mark.parametrize("case", token_cases(), ids=lambda case: case["case"])
def test_a_recorded_customer_token_exchange(client: TestClient, case: dict[str, Any]) -> None:
    recorded_request, recorded = case["request"], case["response"]
    path = urlsplit(recorded_request["uri"]).path
    recorded_token = path[len(PREFIX) :].split("/", 1)[0]
    if recorded_token:
        path = path.replace(recorded_token, mint(client), 1)
    answer = client.request(recorded_request["method"], path, json=recorded_request["body"])
    assert answer.status_code == recorded["status"], answer.text
    headers = {name.lower() for name in recorded["headers"]}
    assert {"content-type", "klarna-correlation-id"} <= headers
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["klarna-correlation-id"]
    body = {k: v for k, v in answer.json().items() if k not in EXTRA_ERROR_KEYS}
    assert shape(body) == shape(recorded["body"])
    # The values that do not change from call to call are the recorded ones.
    kept = {k: v for k, v in recorded["body"].items() if k not in PER_CALL_KEYS}
    assert {k: v for k, v in body.items() if k not in PER_CALL_KEYS} == kept
