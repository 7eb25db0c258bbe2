"""A real third-party client, the npm package `@crystallize/node-klarna`, against a live server.

The package is installed by name once per test session into a temporary folder (see
`node_support.py`), then `node/checkout_roundtrip.js` creates an order with it, reads it back,
updates it and reads it again, and prints a JSON summary that the test checks.

The library can only reach `https://<apiEndpoint>:443`; the script leaves its requests as they are
and routes its sockets to the live server over plain TCP (see the script's header). The library
writes its own lower-case header names, sends POST bodies chunked and writes `{}` after every GET
with no `Content-Length` or `Transfer-Encoding`.

Without Node.js or npm, or when the package cannot be installed, the test is skipped, unless
`KCO_SANDBOX_REQUIRE_NODE=1`, which turns that into a failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.node_support import CORRELATION_WARNING, run_script
from tests.factories import MERCHANT, make_line, make_order
from tests.live import LiveServer

pytestmark = pytest.mark.node

SCRIPT = "checkout_roundtrip.js"


def _update_body() -> dict[str, Any]:
    """A whole order body, as the library's `IOrderBody` type asks, with new lines and a reference.

    Two shirts at 100.00 SEK with 10 % VAT included: 200.00 SEK, of which 18.18 SEK tax.
    """
    line = make_line(quantity=2, total_amount=20000, total_tax_amount=1818)
    return make_order(
        order_amount=20000,
        order_tax_amount=1818,
        order_lines=[line],
        merchant_reference1="node-client-update",
    )


def _run_client(
    node: str, node_modules: Path, server: LiveServer, folder: Path, keep_alive: bool
) -> tuple[dict[str, Any], str]:
    """Run the script; its summary and its stderr (where the library writes its warnings)."""
    request = {
        "base_url": server.url,
        "username": MERCHANT.merchant_id,
        "password": MERCHANT.api_key,
        "keep_alive": keep_alive,
        "order": make_order(),
        "update": _update_body(),
    }
    return run_script(node, node_modules, SCRIPT, request, server, folder)


def _assert_order(step: dict[str, Any], status_code: int, order_id: str | None = None) -> None:
    assert step["statusCode"] == status_code, step["error"]
    assert step["error"] is None
    assert step["status"] == "checkout_incomplete"
    if order_id is not None:
        assert step["order_id"] == order_id
    snippet = step["html_snippet"]
    assert isinstance(snippet, str)
    assert 'id="klarna-checkout-container"' in snippet
    assert step["order_id"] in snippet


@pytest.mark.parametrize(
    "keep_alive",
    [
        pytest.param(False, id="connection-per-request"),
        # Node 20's default agent keeps connections alive: the `{}` the library writes after
        # each GET must not spoil the next request on the same connection.
        pytest.param(True, id="keep-alive"),
    ],
)
def test_node_klarna_creates_reads_and_updates_an_order(
    live_server: LiveServer,
    node: str,
    node_modules: Path,
    tmp_path: Path,
    keep_alive: bool,
) -> None:
    summary, stderr = _run_client(node, node_modules, live_server, tmp_path, keep_alive)
    created, read = summary["created"], summary["read"]
    updated, reread = summary["updated"], summary["reread"]

    # Create: 201 and a fresh order as sent.
    _assert_order(created, 201)
    order_id = created["order_id"]
    assert isinstance(order_id, str)
    assert order_id
    assert created["order_amount"] == 50000
    assert created["order_tax_amount"] == 4545
    assert [line["quantity"] for line in created["order_lines"]] == [5]
    assert created["merchant_reference1"] is None

    # Read: the same order.
    _assert_order(read, 200, order_id)
    assert read["order_amount"] == 50000
    assert read["order_lines"] == created["order_lines"]

    # Update: the answer already shows the new lines, amounts and reference ...
    expected = _update_body()
    _assert_order(updated, 200, order_id)
    for step in (updated, reread):
        assert step["merchant_reference1"] == "node-client-update"
        assert step["order_amount"] == 20000
        assert step["order_tax_amount"] == 1818
        assert step["order_lines"] == expected["order_lines"]
    # ... and so does a later read.
    _assert_order(reread, 200, order_id)

    # Every answer carried Klarna-Correlation-Id, or the library would have warned.
    assert CORRELATION_WARNING not in stderr

    # The requests were the library's own: lower-case header names, chunked POST bodies.
    heads = summary["request_heads"]
    assert [head.split(" ", 2)[:2] for head in heads] == [
        ["POST", "/checkout/v3/orders"],
        ["GET", f"/checkout/v3/orders/{order_id}"],
        ["POST", f"/checkout/v3/orders/{order_id}"],
        ["GET", f"/checkout/v3/orders/{order_id}"],
    ]
    for head in heads:
        names = [line.split(":", 1)[0] for line in head.split("\r\n")[1:]]
        assert "content-type" in names
        assert "authorization" in names
        assert "Content-Length" not in names
        chunked = "Transfer-Encoding: chunked" in head.split("\r\n")
        assert chunked == head.startswith("POST ")
    if not keep_alive:
        assert summary["connections"] == 4
