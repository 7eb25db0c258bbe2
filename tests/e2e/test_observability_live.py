"""A live `kco-sandbox serve`: the access line at the default level, JSON logs, and the health
probe a container or CI service definition runs (docs/operations.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kco_sandbox import __version__
from tests.callback_support import wait_for
from tests.factories import MERCHANT, make_order
from tests.live import LiveServer

AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """`serve` at the default log level (LiveServer starts at `warning`: the last flag wins)."""
    extra: list[str] = getattr(request, "param", [])
    live = LiveServer(tmp_path, merchants=[MERCHANT], extra_args=["--log-level", "info", *extra])
    live.start()
    yield live
    live.stop()


def access_lines(server: LiveServer) -> list[str]:
    return [line for line in server.output().splitlines() if " kco_sandbox.access " in line]


def test_the_access_log_and_health_of_a_live_server(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, auth=AUTH) as client:
        created = client.post("/checkout/v3/orders?token=s3cret", json=make_order())
        assert created.status_code == 201
        assert client.get("/checkout/v3/orders/nope", auth=("x", "wrong")).status_code == 401
        health = client.get("/_sandbox/health", auth=None)

    assert health.status_code == 200
    body = health.json()
    assert (body["status"], body["version"], body["database"]) == ("ok", __version__, "ok")
    assert body["worker"] == "alive"  # serve runs the delivery worker by default
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["clock"])

    # A line is written once its answer is sent: the client may have read it a moment earlier.
    last = health.headers["Klarna-Correlation-Id"]
    assert wait_for(lambda: any(last in line for line in access_lines(server)), 5), server.output()
    lines = access_lines(server)
    correlation_id = created.headers["Klarna-Correlation-Id"]
    assert any(
        re.search(
            rf"INFO kco_sandbox\.access POST /checkout/v3/orders 201 \d+\.\dms "
            rf"merchant={MERCHANT.merchant_id} correlation_id={correlation_id}$",
            line,
        )
        for line in lines
    ), lines
    assert any(" 401 " in line and "merchant=-" in line for line in lines), lines
    assert not any("s3cret" in line or "wrong" in line for line in lines), lines
    assert not any(MERCHANT.api_key in line for line in lines), lines
    # uvicorn's own access line stays off: one line per request.
    assert not any('"POST /checkout/v3/orders' in line for line in server.output().splitlines())


@pytest.mark.parametrize("server", [["--log-format", "json"]], indirect=True)
def test_json_logs_of_a_live_server(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, auth=AUTH) as client:
        read = client.get("/_sandbox/health")

    def entries() -> list[dict[str, object]]:
        # Logs are JSON; the start-up banner on standard output (the URL, the merchants) is not.
        found: list[dict[str, object]] = []
        for line in server.output().splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    def health_lines() -> list[dict[str, object]]:
        return [e for e in entries() if e.get("path") == "/_sandbox/health"]

    assert wait_for(lambda: len(health_lines()) == 1, 5), server.output()
    (access,) = health_lines()
    assert (access["logger"], access["level"], access["method"]) == (
        "kco_sandbox.access",
        "info",
        "GET",
    )
    assert access["status"] == 200
    assert access["merchant"] == MERCHANT.merchant_id
    assert access["correlation_id"] == read.headers["Klarna-Correlation-Id"]
    # uvicorn's own records come in the same format.
    assert any(str(e["logger"]).startswith("uvicorn") for e in entries()), server.output()
