"""`kco-sandbox clock show|advance`: read or move a merchant's clock on a running server.

The clock lives in the server process, so these talk to it over HTTP: at `--url`, else at the
`--host` and `--port` that `serve` listens on. Credentials are `--merchant`'s, else the first
stored merchant's (read without creating or migrating a database). Each merchant has a clock of
its own: these read and move that merchant's, and no other merchant's time moves.
"""

from __future__ import annotations

import re
from typing import Any

import click
import httpx

from kco_sandbox.cli import options
from kco_sandbox.cli.orders import print_json, read_store
from kco_sandbox.client import parse_duration as parse_client_duration
from kco_sandbox.settings import parse_merchant


def parse_duration(text: str) -> float:
    """`2h`, `90m`, `30s`, `1d` or plain seconds → seconds (the client's parser)."""
    try:
        return parse_client_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="DURATION") from exc


def _credentials(merchant: str | None, database_url: str) -> tuple[str, str]:
    """`--merchant`'s credentials, else the first stored merchant's."""
    if merchant:
        try:
            parsed = parse_merchant(merchant.split()[0])
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--merchant") from exc
        return parsed.merchant_id, parsed.api_key
    store = read_store(
        database_url, "give --merchant USER:PASSWORD, or the --database-url the server uses"
    )
    try:
        stored = store.merchants.list()
    finally:
        store.close()
    if not stored:
        raise click.UsageError("no merchant: give --merchant USER:PASSWORD")
    return stored[0].merchant_id, stored[0].api_key


def server_url(host: str, port: int) -> str:
    """Where a client reaches a server listening on `host`:`port`; a server listening on every
    address (0.0.0.0, ::) is reached on this machine's loopback."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port}"


@click.group()
def clock() -> None:
    """Read or move a merchant's clock on a running server (each merchant has its own)."""


def _server_options(function: Any) -> Any:
    for option in (
        options.database_option,
        click.option(
            "--merchant",
            envvar="KCO_SANDBOX_MERCHANT",
            metavar="USER:PASSWORD",
            help="Credentials [default: the first stored merchant].",
        ),
        options.port_option,
        options.host_option,
        click.option(
            "--url",
            envvar="KCO_SANDBOX_URL",
            show_envvar=True,
            help="The running server [default: http://HOST:PORT from --host and --port].",
        ),
    ):
        function = option(function)
    return function


# An advance answers once every callback that fell due has been attempted: that can take a while.
_TIMEOUT = 300.0


def _why(exc: Exception) -> str:
    """`connection refused`, not `[Errno 111] Connection refused`."""
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)) or type(exc).__name__
    return text[:1].lower() + text[1:]


def _call(method: str, server: str, path: str, auth: tuple[str, str], body: Any = None) -> Any:
    """`method path` on the server and its JSON answer; every failure names the server."""
    try:
        response = httpx.request(method, server + path, auth=auth, json=body, timeout=_TIMEOUT)
    except httpx.TimeoutException as exc:
        raise click.ClickException(
            f"the server at {server} did not answer within {_TIMEOUT:g} s"
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise click.ClickException(f"cannot reach the server at {server}: {_why(exc)}") from exc
    if response.status_code == 401:
        raise click.ClickException(
            f"the server at {server} does not know merchant {auth[0]!r} with that password: "
            "give --merchant USER:PASSWORD, or the --database-url the server uses"
        )
    if response.status_code >= 400:
        raise click.ClickException(
            f"the server at {server} answered {method} {path} with "
            f"{response.status_code}: {response.text}"
        )
    try:
        return response.json()
    except ValueError as exc:
        raise click.ClickException(
            f"the server at {server} did not answer with JSON: is it kco-sandbox?"
        ) from exc


@clock.command("show")
@_server_options
def clock_show(
    url: str | None, host: str, port: int, merchant: str | None, database_url: str
) -> None:
    """Print the merchant's time."""
    server = (url or server_url(host, port)).rstrip("/")
    print_json(_call("GET", server, "/_sandbox/clock", _credentials(merchant, database_url)))


@clock.command("advance")
@click.argument("duration")
@_server_options
def clock_advance(
    duration: str, url: str | None, host: str, port: int, merchant: str | None, database_url: str
) -> None:
    """Move the merchant's clock forward by DURATION (2h, 90m, 30s, 1d; at most 400 days) and
    deliver what of that merchant's fell due."""
    seconds = parse_duration(duration)
    server = (url or server_url(host, port)).rstrip("/")
    auth = _credentials(merchant, database_url)
    print_json(_call("POST", server, "/_sandbox/clock/advance", auth, {"seconds": seconds}))
