"""The pytest plugin installed with kco-sandbox: a sandbox for the test session, and a client.

Fixtures (nothing to configure; docs/pytest-plugin.md):

- `kco_sandbox` (session): the server to test against, a `KcoSandbox` (`base_url`, `username`,
  `password`). The plugin starts `python -m kco_sandbox serve` on a free port with a fresh SQLite
  database and a merchant of its own when the first test asks for it, and stops it after the
  session; `--kco-sandbox-url` (or `KCO_SANDBOX_URL`) uses a running server instead.
- `kco` (session): a `KcoClient` signed in to it; `kco.create_order()` creates the example order,
  `kco.create_order(locale="en-SE")` the same with its top-level keys replaced.
- `kco_customer_token` (test): a new `ACTIVE` customer token of that merchant, for the Customer
  Token API (`kco.charge_token(kco_customer_token)`).
- `kco_webhooks` (test): a `WebhookReceiver` on a free local port, registered as a webhook
  destination for every event while the test runs; it verifies each delivery with the
  destination's secret and the merchant's clock (`kco_webhooks.wait_for("capture.created")`).

This module imports only pytest and the standard library; the client (and httpx) are imported,
the environment read and the server started only when a test asks for a fixture, so other test
runs in an environment that has kco-sandbox installed pay nothing.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from kco_sandbox.client import KcoClient, KcoSandbox, WebhookReceiver


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kco-sandbox", "kco-sandbox (the Kustom Checkout sandbox)")
    group.addoption(
        "--kco-sandbox-url",
        metavar="URL",
        help="Use the kco-sandbox running at URL instead of starting one [env: KCO_SANDBOX_URL].",
    )
    group.addoption(
        "--kco-sandbox-username",
        metavar="USER",
        help="Merchant user name on the server of --kco-sandbox-url [env: KCO_SANDBOX_USERNAME].",
    )
    group.addoption(
        "--kco-sandbox-password",
        metavar="PASSWORD",
        help="Merchant password on the server of --kco-sandbox-url [env: KCO_SANDBOX_PASSWORD].",
    )
    group.addoption(
        "--kco-sandbox-serve-args",
        metavar="ARGS",
        help="More arguments for the `kco-sandbox serve` the plugin starts, e.g. "
        "'--push-schedule 60' [ini: kco_sandbox_serve_args].",
    )
    parser.addini(
        "kco_sandbox_serve_args",
        type="args",
        default=[],
        help="More arguments for the `kco-sandbox serve` the plugin starts.",
    )


@pytest.fixture(scope="session")
def kco_sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KcoSandbox]:
    """The kco-sandbox of this test session: started for it, or the one `--kco-sandbox-url`
    names."""
    from kco_sandbox.client import SandboxStartError, local_sandbox, running_sandbox

    config = request.config
    url = _setting(config, "--kco-sandbox-url", "KCO_SANDBOX_URL")
    try:
        if url:
            username, password = _credentials(config, url)
            yield running_sandbox(url, username, password)
            return
        serve_args = list(config.getini("kco_sandbox_serve_args"))
        serve_args += shlex.split(config.getoption("--kco-sandbox-serve-args") or "")
        folder = tmp_path_factory.mktemp("kco-sandbox")
        with local_sandbox(folder, serve_args, username="pytest-merchant") as sandbox:
            yield sandbox
    except SandboxStartError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def kco(kco_sandbox: KcoSandbox) -> Iterator[KcoClient]:
    """A `KcoClient` signed in to `kco_sandbox`, for the whole session (it holds no state)."""
    with kco_sandbox.client() as client:
        yield client


@pytest.fixture
def kco_customer_token(kco: KcoClient) -> str:
    """A customer token minted for this test: the shopper `anna@example.com` bought
    `example_subscription_order()` by invoice, so the token is `ACTIVE` and its charges in SEK
    are accepted."""
    return kco.mint_token("anna@example.com")


@pytest.fixture
def kco_webhooks(kco_sandbox: KcoSandbox) -> Iterator[WebhookReceiver]:
    """A local webhook receiver, registered for all events of the merchant for this test and
    removed after it. The server must reach it on 127.0.0.1 (a server on this machine does)."""
    from kco_sandbox.client import webhook_receiver

    with kco_sandbox.client() as client, webhook_receiver(client) as receiver:
        yield receiver


def _setting(config: pytest.Config, option: str, variable: str) -> str | None:
    """The command-line option, else the environment variable, else None."""
    given: str | None = config.getoption(option)
    return given or os.environ.get(variable) or None


def _credentials(config: pytest.Config, url: str) -> tuple[str, str]:
    username = _setting(config, "--kco-sandbox-username", "KCO_SANDBOX_USERNAME")
    password = _setting(config, "--kco-sandbox-password", "KCO_SANDBOX_PASSWORD")
    if not (username and password):
        # `kco-sandbox clock --url` reads its credentials from here: the same environment works.
        first = (os.environ.get("KCO_SANDBOX_MERCHANT") or "").split(maxsplit=1)
        user, _, rest = (first[0] if first else "").partition(":")
        username, password = username or user, password or rest.partition(":")[0]
    if not (username and password):
        pytest.fail(
            f"kco-sandbox at {url}: no merchant credentials; give --kco-sandbox-username and "
            "--kco-sandbox-password, or set KCO_SANDBOX_USERNAME and KCO_SANDBOX_PASSWORD",
            pytrace=False,
        )
    return username, password
