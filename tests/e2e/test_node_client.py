"""A real third-party client, the npm package `@crystallize/node-klarna`, against a live server.

The package is installed by name once per test session into a temporary folder, then
`node/checkout_roundtrip.js` creates an order with it, reads it back, updates it and reads it
again, and prints a JSON summary that the test checks.

The library can only reach `https://<apiEndpoint>:443`; the script leaves its requests as they are
and routes its sockets to the live server over plain TCP (see the script's header). The library
writes its own lower-case header names, sends POST bodies chunked and writes `{}` after every GET
with no `Content-Length` or `Transfer-Encoding`.

Without Node.js or npm, or when the package cannot be installed, the test is skipped, unless
`KCO_SANDBOX_REQUIRE_NODE=1`, which turns that into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.factories import MERCHANT, make_line, make_order
from tests.live import LiveServer

pytestmark = pytest.mark.node

PACKAGE = "@crystallize/node-klarna@4"
SCRIPT = Path(__file__).parent / "node" / "checkout_roundtrip.js"
INSTALL_TIMEOUT = 300.0
RUN_TIMEOUT = 60.0
CORRELATION_WARNING = "do not contain klarna correlation id"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("KCO_SANDBOX_REQUIRE_NODE") == "1":
        pytest.fail(f"KCO_SANDBOX_REQUIRE_NODE=1 but {reason}")
    pytest.skip(reason)


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        _unavailable("`node` is not on PATH (Node.js is needed for the node client test)")
    return path


@pytest.fixture(scope="session")
def node_modules(node: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed into a folder of this session; its `node_modules`."""
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("`npm` is not on PATH (it installs the node client under test)")
    prefix = tmp_path_factory.mktemp("node-klarna")
    env = {**os.environ, "npm_config_update_notifier": "false"}
    command = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"]
    command += ["--prefix", str(prefix), PACKAGE]
    try:
        done = subprocess.run(
            command,
            cwd=prefix,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _unavailable(f"`npm install {PACKAGE}` did not finish in {INSTALL_TIMEOUT:.0f}s")
    if done.returncode != 0:
        _unavailable(
            f"`npm install {PACKAGE}` failed (exit {done.returncode}):\n{_tail(done.stderr)}"
        )
    modules = prefix / "node_modules"
    if not (modules / "@crystallize" / "node-klarna" / "package.json").is_file():
        _unavailable(f"`npm install {PACKAGE}` left no package in {modules}")
    return modules


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
    input_file = folder / "node-client-input.json"
    input_file.write_text(json.dumps(request))
    done = subprocess.run(
        [node, str(SCRIPT), str(input_file)],
        cwd=folder,
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (
        f"node exited {done.returncode}\nstderr:\n{done.stderr}\nserver log:\n{server.output()}"
    )
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary, done.stderr


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
