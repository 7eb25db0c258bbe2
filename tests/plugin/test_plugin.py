"""The pytest plugin as a user's project gets it: scratch projects run by `pytester` in a
pytest of their own.

In a subprocess where the point is what a user gets (the plugin loads from its entry point, as
installed, in a fresh interpreter); in this process where it is how the options are read, which
is faster and counted by coverage.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kco_sandbox.client import KcoClient
from tests.factories import MERCHANT
from tests.live import LiveServer

# What a user writes: a purchase, pushes to an unreachable shop (still attempted and recorded),
# pushes to a shop of its own that answers, and a note of where the server was.
USER_TESTS = """
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from kco_sandbox.client import example_order


def test_buy(kco, kco_sandbox):
    Path("server.json").write_text(json.dumps({"url": kco_sandbox.base_url}))
    order = kco.create_order()
    kco.complete(order["order_id"])
    kco.capture(order["order_id"])
    kco.advance("2h")
    attempts = kco.callbacks(order["order_id"])
    assert attempts and all(a["kind"] == "push.attempt" for a in attempts)
    assert attempts[0]["url"].startswith("https://shop.example/push")
    assert attempts[0]["status"] is None and attempts[0]["error"]


def test_the_push_reaches_my_shop(kco):
    pushed = []

    class Shop(BaseHTTPRequestHandler):
        def do_POST(self):
            pushed.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    shop = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    threading.Thread(target=shop.serve_forever, daemon=True).start()
    try:
        push = f"http://127.0.0.1:{shop.server_port}/push?order={{checkout.order.id}}"
        order = kco.create_order(
            merchant_urls={**example_order()["merchant_urls"], "push": push}
        )
        kco.complete(order["order_id"], email="anna@example.com")
        kco.advance("2m")
        assert pushed == [f"/push?order={order['order_id']}"]
        assert [a["status"] for a in kco.callbacks(order["order_id"])] == [200]
    finally:
        shop.shutdown()
        shop.server_close()
"""

STRICT = ("-p", "no:cacheprovider", "-W", "error")
EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/test_checkout_with_kco_sandbox.py"


def _answers(url: str) -> bool:
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=1.0)
    try:
        connection.request("GET", "/kco/checkout.bootstrap.js")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def _started_servers(pytester: pytest.Pytester) -> list[Path]:
    """The folders of the servers the plugin started in pytester's runs."""
    return list(pytester.path.glob("runpytest-[0-9]*/kco-sandbox[0-9]*/server.log"))


def test_a_users_tests_get_a_server_of_their_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=USER_TESTS)
    # The example the docs give users to copy.
    pytester.makepyfile(test_checkout_with_kco_sandbox=EXAMPLE.read_text())
    # Arguments for the server from the ini file (and a test that sees them).
    pytester.makeini("[pytest]\nkco_sandbox_serve_args = --clock-scale 1.5\n")
    pytester.makepyfile(test_clock="def test_scale(kco):\n    assert kco.clock()['scale'] == 1.5\n")

    result = pytester.runpytest_subprocess(*STRICT)

    result.assert_outcomes(passed=3 + 8)
    assert len(_started_servers(pytester)) == 1  # one server for the session
    url = json.loads((pytester.path / "server.json").read_text())["url"]
    assert not _answers(url)  # stopped at the end of the session


def test_nothing_starts_for_tests_that_do_not_ask(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_other="def test_plain():\n    assert True\n")

    result = pytester.runpytest_subprocess(*STRICT)

    result.assert_outcomes(passed=1)
    assert _started_servers(pytester) == []


def test_the_options_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")

    result.stdout.fnmatch_lines(
        ["kco-sandbox*", "*--kco-sandbox-url=URL*", "*--kco-sandbox-serve-args=ARGS*"]
    )


def test_a_server_that_cannot_start_shows_its_output(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop="def test_needs(kco):\n    pass\n")

    result = pytester.runpytest_subprocess(*STRICT, "--kco-sandbox-serve-args=--no-such-flag")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*kco-sandbox exited with status 2.*", "command: *serve*--no-such-flag*", "output:*"]
    )
    assert "No such option" in result.stdout.str()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A kco-sandbox someone else started, as a CI service container would be."""
    server = LiveServer(tmp_path_factory.mktemp("running"), merchants=[MERCHANT])
    server.start()
    yield server
    server.stop()


USES_THE_RUNNING_SERVER = """
from pathlib import Path


def test_it(kco, kco_sandbox):
    assert kco_sandbox.base_url == "{url}"
    assert kco_sandbox.log_path is None
    order = kco.create_order(merchant_reference1="from-the-user")
    Path("{note}").write_text(order["order_id"])
"""


def test_a_running_server_named_on_the_command_line(
    pytester: pytest.Pytester, running: LiveServer
) -> None:
    note = pytester.path / "order-id"
    pytester.makepyfile(test_it=USES_THE_RUNNING_SERVER.format(url=running.url, note=note))

    result = pytester.runpytest_inprocess(
        *STRICT,
        f"--kco-sandbox-url={running.url}/",
        f"--kco-sandbox-username={MERCHANT.merchant_id}",
        f"--kco-sandbox-password={MERCHANT.api_key}",
    )

    result.assert_outcomes(passed=1)
    assert _started_servers(pytester) == []
    with KcoClient(running.url, MERCHANT.merchant_id, MERCHANT.api_key) as own:
        assert own.read_order(note.read_text())["merchant_reference1"] == "from-the-user"


def test_a_running_server_named_in_the_environment(
    pytester: pytest.Pytester, running: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = pytester.path / "order-id"
    pytester.makepyfile(test_it=USES_THE_RUNNING_SERVER.format(url=running.url, note=note))
    monkeypatch.setenv("KCO_SANDBOX_URL", running.url)
    monkeypatch.setenv("KCO_SANDBOX_USERNAME", MERCHANT.merchant_id)
    monkeypatch.setenv("KCO_SANDBOX_PASSWORD", MERCHANT.api_key)

    pytester.runpytest_inprocess(*STRICT).assert_outcomes(passed=1)

    monkeypatch.delenv("KCO_SANDBOX_USERNAME")
    monkeypatch.delenv("KCO_SANDBOX_PASSWORD")
    monkeypatch.setenv("KCO_SANDBOX_MERCHANT", f"{MERCHANT.merchant_id}:{MERCHANT.api_key}")
    pytester.runpytest_inprocess(*STRICT).assert_outcomes(passed=1)


def test_a_running_server_without_credentials_is_a_clear_error(
    pytester: pytest.Pytester, running: LiveServer
) -> None:
    pytester.makepyfile(test_it="def test_it(kco):\n    pass\n")

    result = pytester.runpytest_inprocess(*STRICT, f"--kco-sandbox-url={running.url}")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no merchant credentials; give --kco-sandbox-username*"])
