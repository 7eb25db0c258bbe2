"""Order Management through a real third-party client, `@crystallize/node-klarna`, on a live server.

Two checkout orders are created and completed here (over HTTP, with the merchant's credentials:
`POST /checkout/v3/orders`, then `POST /_sandbox/orders/{id}/complete`), which opens an
AUTHORIZED Order Management order for each. Then `node/order_management.js` uses the library's
`orderManagementV1` methods on them, reading the order back with `orders.getOrder` after every
change, and prints a JSON summary that the test checks:

- first order: `orders.getOrder`, `orders.acknowledge`, `orders.updateMerchantReference`,
  `captures.capture` (two of the five shirts), `orders.releaseRemainingAuthorization`,
  `refunds.create` (one shirt);
- second order: `orders.getOrder`, `orders.cancel`.

The library has no other Order Management method. It writes a JSON body on every request, `{}`
when it has none (also on GET, with no `Content-Length` or `Transfer-Encoding`), sends bodies
chunked, and returns no answer headers, so the capture's and refund's ids are read from the order.
The package's installation and the skip/fail rules are in `node_support.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.node_support import CORRELATION_WARNING, run_script
from tests.factories import MERCHANT, make_line, make_order
from tests.live import LiveServer

pytestmark = pytest.mark.node

SCRIPT = "order_management.js"
AUTH = (MERCHANT.merchant_id, MERCHANT.api_key)
OM = "/ordermanagement/v1/orders"
REFERENCES = {"merchant_reference1": "node-om-1", "merchant_reference2": "node-om-2"}
# Five shirts at 100.00 SEK, 10 % VAT included (`make_order()`): 500.00 SEK, 45.45 SEK tax.
# Two are captured, the other three released; one of the two captured is refunded.
CAPTURE = {
    "captured_amount": 20000,
    "description": "first box",
    "reference": "box-1",
    "order_lines": [make_line(quantity=2, total_amount=20000, total_tax_amount=1818)],
}
REFUND = {
    "refunded_amount": 10000,
    "description": "one shirt returned",
    "reference": "return-1",
    "order_lines": [make_line(quantity=1, total_amount=10000, total_tax_amount=909)],
}


def _completed_order(server: LiveServer) -> str:
    """A checkout order created and completed over HTTP: an AUTHORIZED order of 500.00 SEK."""
    with httpx.Client(base_url=server.url, auth=AUTH, timeout=10.0) as client:
        created = client.post("/checkout/v3/orders", json=make_order())
        assert created.status_code == 201, created.text
        order_id: str = created.json()["order_id"]
        done = client.post(f"/_sandbox/orders/{order_id}/complete", json={})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "checkout_complete"
    return order_id


def _run_client(
    node: str, node_modules: Path, server: LiveServer, folder: Path, keep_alive: bool
) -> tuple[dict[str, Any], str, str, str]:
    """Two completed orders and the script run on them: summary, stderr and the two ids."""
    first, second = _completed_order(server), _completed_order(server)
    request = {
        "base_url": server.url,
        "username": MERCHANT.merchant_id,
        "password": MERCHANT.api_key,
        "keep_alive": keep_alive,
        "first": first,
        "second": second,
        "references": REFERENCES,
        "capture": CAPTURE,
        "refund": REFUND,
    }
    summary, stderr = run_script(node, node_modules, SCRIPT, request, server, folder)
    return summary, stderr, first, second


def _read(step: dict[str, Any], order_id: str) -> dict[str, Any]:
    """The order as `getOrder` answered it (after the step's change, if it made one)."""
    read = step.get("order", step)
    assert read["statusCode"] == 200, read["error"]
    assert read["error"] is None
    order: dict[str, Any] = read["response"]
    assert order["order_id"] == order_id
    return order


def _amounts(order: dict[str, Any]) -> tuple[str, int, int, int, int]:
    return (
        order["status"],
        order["order_amount"],
        order["captured_amount"],
        order["refunded_amount"],
        order["remaining_authorized_amount"],
    )


def _assert_no_content(step: dict[str, Any], status_code: int) -> None:
    """A change answered with `status_code` and an empty body, as the vendor's are."""
    assert step["statusCode"] == status_code, step["error"]
    assert step["error"] is None
    assert step["response"] == ""


@pytest.mark.parametrize(
    "keep_alive",
    [
        pytest.param(False, id="connection-per-request"),
        # Node 20's default agent keeps connections alive: the `{}` the library writes after
        # each GET must not spoil the next request on the same connection.
        pytest.param(True, id="keep-alive"),
    ],
)
def test_node_klarna_manages_orders(
    live_server: LiveServer,
    node: str,
    node_modules: Path,
    tmp_path: Path,
    keep_alive: bool,
) -> None:
    summary, stderr, first, second = _run_client(
        node, node_modules, live_server, tmp_path, keep_alive
    )
    steps = {(step["order_id"], step["step"]): step for step in summary["steps"]}
    assert [step["step"] for step in summary["steps"]] == [
        "get",
        "acknowledge",
        "update_references",
        "capture",
        "release",
        "refund",
        "get",
        "cancel",
    ]

    # A completed checkout is an AUTHORIZED order of the whole amount, nothing captured yet.
    opened = _read(steps[first, "get"], first)
    assert _amounts(opened) == ("AUTHORIZED", 50000, 0, 0, 50000)
    assert opened["fraud_status"] == "ACCEPTED"
    assert (opened["purchase_country"], opened["purchase_currency"]) == ("SE", "SEK")
    assert [line["quantity"] for line in opened["order_lines"]] == [5]
    assert opened["captures"] == opened["refunds"] == []
    assert "merchant_reference1" not in opened

    # Acknowledge: 204, and nothing the order shows changes.
    acknowledge = steps[first, "acknowledge"]
    _assert_no_content(acknowledge, 204)
    assert _read(acknowledge, first) == opened

    # Merchant references: 204, then both on the order.
    references = steps[first, "update_references"]
    _assert_no_content(references, 204)
    referenced = _read(references, first)
    assert referenced["merchant_reference1"] == "node-om-1"
    assert referenced["merchant_reference2"] == "node-om-2"
    assert _amounts(referenced) == _amounts(opened)

    # Capture two shirts: 201 with an empty body; PART_CAPTURED, 300.00 SEK still authorized.
    capture = steps[first, "capture"]
    _assert_no_content(capture, 201)
    captured = _read(capture, first)
    assert _amounts(captured) == ("PART_CAPTURED", 50000, 20000, 0, 30000)
    [stored] = captured["captures"]
    assert stored["captured_amount"] == 20000
    assert stored["description"] == "first box"
    assert stored["reference"] == "box-1"
    assert stored["klarna_reference"] == captured["klarna_reference"] + "-1"
    assert [line["quantity"] for line in stored["order_lines"]] == [2]
    assert stored["refunded_amount"] == 0

    # Release the rest: 204; CAPTURED, nothing left to capture, the order amount unchanged.
    release = steps[first, "release"]
    _assert_no_content(release, 204)
    released = _read(release, first)
    assert _amounts(released) == ("CAPTURED", 50000, 20000, 0, 0)
    assert released["captures"] == [stored]

    # Refund one shirt: 201; still CAPTURED, 100.00 SEK refunded against the capture.
    refund = steps[first, "refund"]
    _assert_no_content(refund, 201)
    refunded = _read(refund, first)
    assert _amounts(refunded) == ("CAPTURED", 50000, 20000, 10000, 0)
    [stored_refund] = refunded["refunds"]
    assert stored_refund["refunded_amount"] == 10000
    assert stored_refund["description"] == "one shirt returned"
    assert stored_refund["reference"] == "return-1"
    assert [line["quantity"] for line in stored_refund["order_lines"]] == [1]
    # As recorded from the vendor, refunds are not attributed to captures.
    assert refunded["captures"][0]["refunded_amount"] == 0
    assert refunded["merchant_reference1"] == "node-om-1"

    # The second order: AUTHORIZED, then cancelled (204): CANCELLED, nothing captured. As
    # recorded from the vendor, a cancelled order still shows its remaining authorization.
    assert _amounts(_read(steps[second, "get"], second)) == ("AUTHORIZED", 50000, 0, 0, 50000)
    cancel = steps[second, "cancel"]
    _assert_no_content(cancel, 204)
    cancelled = _read(cancel, second)
    assert _amounts(cancelled) == ("CANCELLED", 50000, 0, 0, 50000)
    assert cancelled["captures"] == cancelled["refunds"] == []

    # Every answer carried Klarna-Correlation-Id, or the library would have warned.
    assert CORRELATION_WARNING not in stderr

    # The requests were the library's own: its paths and methods, lower-case header names,
    # every body chunked except GET's (the `{}` it writes after a GET goes out unannounced).
    heads = summary["request_heads"]
    get_first = ["GET", f"{OM}/{first}"]
    get_second = ["GET", f"{OM}/{second}"]
    assert [head.split(" ", 2)[:2] for head in heads] == [
        get_first,
        ["POST", f"{OM}/{first}/acknowledge"],
        get_first,
        ["PATCH", f"{OM}/{first}/merchant-references"],
        get_first,
        ["POST", f"{OM}/{first}/captures"],
        get_first,
        ["POST", f"{OM}/{first}/release-remaining-authorization"],
        get_first,
        ["POST", f"{OM}/{first}/refunds"],
        get_first,
        get_second,
        ["POST", f"{OM}/{second}/cancel"],
        get_second,
    ]
    for head in heads:
        names = [line.split(":", 1)[0] for line in head.split("\r\n")[1:]]
        assert "content-type" in names
        assert "authorization" in names
        assert "Content-Length" not in names
        chunked = "Transfer-Encoding: chunked" in head.split("\r\n")
        assert chunked == (not head.startswith("GET "))
    if keep_alive:
        # Connections were reused, so every request after a GET's stray `{}` was read right.
        assert summary["connections"] < len(heads)
    else:
        assert summary["connections"] == len(heads)
