"""`serve`'s options for running one server for many people: the profile, who may be named in
`Host`, where callbacks may go, connection limits, retention and the number of server processes.

Each default is the `Settings` default; the tri-state ones (`--demo-shop`, `--private-callbacks`)
default to "as the profile says". docs/running-for-a-team.md explains them together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from kco_sandbox.cli.options import DEFAULTS
from kco_sandbox.domain.callback_hosts import parse_patterns
from kco_sandbox.settings import MAX_WORKERS, PROFILES
from kco_sandbox.web.hosts import split_host

F = TypeVar("F", bound=Callable[..., Any])


def _host_names(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """`--allowed-host` values, each `HOST[:PORT]`; a malformed one stops the command."""
    for value in values:
        if split_host(value) is None:
            raise click.BadParameter(
                f"{value!r}: expected a host name like ci.example or ci.example:8000"
            )
    return values


def _host_patterns(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """`--callback-host` values; a malformed pattern stops the command."""
    try:
        parse_patterns(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    return values


profile_option = click.option(
    "--profile",
    envvar="KCO_SANDBOX_PROFILE",
    default=DEFAULTS.profile,
    show_default=True,
    show_envvar=True,
    type=click.Choice(PROFILES),
    help="local: one developer, everything on. shared: one server for a team (no demo shop, "
    "--public-url required, callbacks only to public hosts or --callback-host).",
)

allowed_host_option = click.option(
    "--allowed-host",
    "allowed_hosts",
    envvar="KCO_SANDBOX_ALLOWED_HOSTS",
    multiple=True,
    show_envvar=True,
    metavar="HOST[:PORT]",
    callback=_host_names,
    help="A Host a client may use when --public-url is unset, besides the listen address, "
    "localhost, 127.0.0.1 and [::1]; repeatable (space-separated in the variable).",
)

demo_shop_option = click.option(
    "--demo-shop/--no-demo-shop",
    envvar="KCO_SANDBOX_DEMO_SHOP",
    default=None,
    show_envvar=True,
    help="Serve the demo shop at /demo [default: on, except in the shared profile or "
    "with --no-sandbox-api].",
)

callback_host_option = click.option(
    "--callback-host",
    "callback_hosts",
    envvar="KCO_SANDBOX_CALLBACK_HOSTS",
    multiple=True,
    show_envvar=True,
    metavar="PATTERN",
    callback=_host_patterns,
    help="A host callbacks may go to (shop.example, *.example.com, host:port); repeatable "
    "(space-separated in the variable) [default: any host].",
)

private_callbacks_option = click.option(
    "--private-callbacks/--no-private-callbacks",
    envvar="KCO_SANDBOX_PRIVATE_CALLBACKS",
    default=None,
    show_envvar=True,
    help="Let callbacks reach loopback, private and link-local addresses that no "
    "--callback-host names [default: yes, except in the shared profile].",
)

max_connections_option = click.option(
    "--max-connections",
    envvar="KCO_SANDBOX_MAX_CONNECTIONS",
    default=DEFAULTS.max_connections,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=1),
    help="Open connections served at once; more wait in the listen queue.",
)

idle_timeout_option = click.option(
    "--idle-timeout",
    envvar="KCO_SANDBOX_IDLE_TIMEOUT",
    default=DEFAULTS.idle_timeout,
    show_default=True,
    show_envvar=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds an idle keep-alive connection stays open.",
)

request_timeout_option = click.option(
    "--request-timeout",
    envvar="KCO_SANDBOX_REQUEST_TIMEOUT",
    default=DEFAULTS.request_timeout,
    show_default=True,
    show_envvar=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds a client has to send a request's headers and body.",
)

http_option = click.option(
    "--http",
    envvar="KCO_SANDBOX_HTTP",
    default=DEFAULTS.http,
    show_default=True,
    show_envvar=True,
    type=click.Choice(["httptools", "h11"]),
    help="The HTTP/1.1 parser: httptools (C, fast) or h11 (pure Python, the fallback).",
)

merchant_callback_slots_option = click.option(
    "--merchant-callback-slots",
    envvar="KCO_SANDBOX_MERCHANT_CALLBACK_SLOTS",
    default=DEFAULTS.merchant_callback_slots,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=1),
    help="Validation, address and shipping callbacks one merchant may have in flight.",
)

retention_days_option = click.option(
    "--retention-days",
    envvar="KCO_SANDBOX_RETENTION_DAYS",
    default=DEFAULTS.retention_days,
    show_default=True,
    show_envvar=True,
    type=click.FloatRange(min=0),
    help="Days after an order can no longer change (or a customer token was last used) until "
    "it and its records are deleted "
    "(on its merchant's clock); 0 keeps everything.",
)

workers_option = click.option(
    "--workers",
    envvar="KCO_SANDBOX_WORKERS",
    default=DEFAULTS.workers,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=1, max=MAX_WORKERS),
    help=f"Server processes answering on the one port (1 to {MAX_WORKERS}); each has the "
    "connection limits above. More than one: a parent process supervises them and delivers "
    "the callbacks.",
)

_OPTIONS = [
    profile_option,
    allowed_host_option,
    demo_shop_option,
    callback_host_option,
    private_callbacks_option,
    max_connections_option,
    idle_timeout_option,
    request_timeout_option,
    merchant_callback_slots_option,
    retention_days_option,
    workers_option,
]


def shared_use_options(command: F) -> F:
    """Apply every option above to `command`."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
