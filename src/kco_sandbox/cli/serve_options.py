"""`serve`'s options for running one server for many people: the profile, who may be named in
`Host`, where callbacks may go, connection limits and retention.

Each default is the `Settings` default; the tri-state ones (`--demo-shop`, `--private-callbacks`)
default to "as the profile says". docs/running-for-a-team.md explains them together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from kco_sandbox.cli.options import DEFAULTS
from kco_sandbox.settings import PROFILES

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "--profile",
        envvar="KCO_SANDBOX_PROFILE",
        default=DEFAULTS.profile,
        show_default=True,
        show_envvar=True,
        type=click.Choice(PROFILES),
        help="local: one developer, everything on. shared: one server for a team (no demo shop, "
        "--public-url required, callbacks only to public hosts or --callback-host).",
    ),
    click.option(
        "--allowed-host",
        "allowed_hosts",
        envvar="KCO_SANDBOX_ALLOWED_HOSTS",
        multiple=True,
        show_envvar=True,
        metavar="HOST[:PORT]",
        help="A Host a client may use when --public-url is unset, besides the listen address, "
        "localhost, 127.0.0.1 and [::1]; repeatable (space-separated in the variable).",
    ),
    click.option(
        "--demo-shop/--no-demo-shop",
        envvar="KCO_SANDBOX_DEMO_SHOP",
        default=None,
        show_envvar=True,
        help="Serve the demo shop at /demo [default: on, except in the shared profile or "
        "with --no-sandbox-api].",
    ),
    click.option(
        "--callback-host",
        "callback_hosts",
        envvar="KCO_SANDBOX_CALLBACK_HOSTS",
        multiple=True,
        show_envvar=True,
        metavar="PATTERN",
        help="A host callbacks may go to (shop.example, *.example.com, host:port); repeatable "
        "(space-separated in the variable) [default: any host].",
    ),
    click.option(
        "--private-callbacks/--no-private-callbacks",
        envvar="KCO_SANDBOX_PRIVATE_CALLBACKS",
        default=None,
        show_envvar=True,
        help="Let callbacks reach loopback, private and link-local addresses that no "
        "--callback-host names [default: yes, except in the shared profile].",
    ),
    click.option(
        "--max-connections",
        envvar="KCO_SANDBOX_MAX_CONNECTIONS",
        default=DEFAULTS.max_connections,
        show_default=True,
        show_envvar=True,
        type=click.IntRange(min=1),
        help="Open connections served at once; more wait in the listen queue.",
    ),
    click.option(
        "--idle-timeout",
        envvar="KCO_SANDBOX_IDLE_TIMEOUT",
        default=DEFAULTS.idle_timeout,
        show_default=True,
        show_envvar=True,
        type=click.FloatRange(min=0, min_open=True),
        help="Seconds an idle keep-alive connection stays open.",
    ),
    click.option(
        "--request-timeout",
        envvar="KCO_SANDBOX_REQUEST_TIMEOUT",
        default=DEFAULTS.request_timeout,
        show_default=True,
        show_envvar=True,
        type=click.FloatRange(min=0, min_open=True),
        help="Seconds a client has to send a request's headers and body.",
    ),
    click.option(
        "--merchant-callback-slots",
        envvar="KCO_SANDBOX_MERCHANT_CALLBACK_SLOTS",
        default=DEFAULTS.merchant_callback_slots,
        show_default=True,
        show_envvar=True,
        type=click.IntRange(min=1),
        help="Validation, address and shipping callbacks one merchant may have in flight.",
    ),
    click.option(
        "--retention-days",
        envvar="KCO_SANDBOX_RETENTION_DAYS",
        default=DEFAULTS.retention_days,
        show_default=True,
        show_envvar=True,
        type=click.FloatRange(min=0),
        help="Days after an order can no longer change until it and its records are deleted "
        "(on its merchant's clock); 0 keeps everything.",
    ),
]


def shared_use_options(command: F) -> F:
    """Apply every option above to `command`."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
