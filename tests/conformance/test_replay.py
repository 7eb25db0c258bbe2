"""Replay the vendor's recorded checkout requests and compare our answers with the recorded ones.

Compared: the status; the header names the vendor sent that belong to the API contract (present,
whatever their case); the body's shape (every recorded key present with a value of the same JSON
type, recursively) and its values once ids, timestamps, the snippet and correlation ids are set
aside. A recording made without valid credentials (the recorded 401) is replayed without them.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conformance.recordings import checkout_recordings

# Headers the vendor's edge adds that say nothing about the API (proxy, caching, timing).
EDGE_HEADERS = {
    "date",
    "connection",
    "server",
    "cache-control",
    "pragma",
    "render-time",
    "strict-transport-security",
    "transfer-encoding",
    "vary",
}
VOLATILE = {
    "order_id",
    "correlation_id",
    "started_at",
    "last_modified_at",
    "html_snippet",
    "service_version",
}
# Fields the vendor's own docs define that these old recordings do not show.
EXTRA_FIELDS = {"name"}

CASES = checkout_recordings()


def json_type(value: Any) -> str:
    return type(value).__name__


def assert_same_shape(ours: Any, theirs: Any, path: str = "$") -> None:
    assert json_type(ours) == json_type(theirs), f"{path}: {ours!r} vs {theirs!r}"
    if isinstance(theirs, dict):
        missing = set(theirs) - set(ours)
        assert not missing, f"{path}: missing {sorted(missing)}"
        extra = set(ours) - set(theirs) - EXTRA_FIELDS
        assert not extra, f"{path}: not in the recording: {sorted(extra)}"
        for key, value in theirs.items():
            assert_same_shape(ours[key], value, f"{path}.{key}")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same_shape(a, b, f"{path}[{i}]")


def stable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in VOLATILE | EXTRA_FIELDS}


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_recorded_checkout_exchange(client: TestClient, case: dict[str, Any]) -> None:
    request, recorded = case["request"], case["response"]
    path = request["uri"].split("playground.kustom.co", 1)[1]
    headers = {k: v[0] for k, v in request["headers"].items()}
    if recorded["status"] == 401:
        client.auth = ("nobody", "wrong")
    response = client.request(request["method"], path, json=request["body"], headers=headers)

    assert response.status_code == recorded["status"], response.text
    ours = {name.lower() for name in response.headers}
    theirs = {name.lower() for name in recorded["headers"]} - EDGE_HEADERS
    theirs.discard("content-length")  # chunked or not is the server's choice
    assert theirs <= ours, f"missing headers: {sorted(theirs - ours)}"
    if "location" in theirs:
        assert response.headers["location"].endswith(
            path.rstrip("/") + "/" + response.json()["order_id"]
        )

    if isinstance(recorded["body"], dict):
        body = response.json()
        assert_same_shape(body, recorded["body"])
        assert stable(body) == stable(recorded["body"])
    else:
        assert response.headers["content-type"].startswith("text/html")
