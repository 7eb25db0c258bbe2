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
from kco_sandbox.domain.settlements.ledger import MAX_FIXED_FEE, MAX_PERCENT_BPS
from kco_sandbox.domain.settlements.schedule import Schedule
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

hpp_email_limit_option = click.option(
    "--hpp-email-limit",
    envvar="KCO_SANDBOX_HPP_EMAIL_LIMIT",
    default=DEFAULTS.hpp_email_limit,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=0),
    help="Hosted Payment Page e-mail distributions one merchant may make in 24 hours "
    "(recorded, never sent).",
)

hpp_sms_limit_option = click.option(
    "--hpp-sms-limit",
    envvar="KCO_SANDBOX_HPP_SMS_LIMIT",
    default=DEFAULTS.hpp_sms_limit,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=0),
    help="Hosted Payment Page text-message distributions one merchant may make in 24 hours.",
)

hpp_encoded_placeholders_option = click.option(
    "--hpp-encoded-placeholders/--no-hpp-encoded-placeholders",
    envvar="KCO_SANDBOX_HPP_ENCODED_PLACEHOLDERS",
    default=DEFAULTS.hpp_encoded_placeholders,
    show_default=True,
    show_envvar=True,
    help="Also fill the URL-encoded placeholders (%7B%7Bsession_id%7D%7D) of a Hosted Payment "
    "Page session's merchant URLs.",
)

webhook_destinations_option = click.option(
    "--webhook-destinations",
    envvar="KCO_SANDBOX_WEBHOOK_DESTINATIONS",
    default=DEFAULTS.webhook_destinations,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=1, max=1000),
    help="Webhook destinations one merchant may have.",
)

webhook_rotation_window_option = click.option(
    "--webhook-rotation-window",
    envvar="KCO_SANDBOX_WEBHOOK_ROTATION_WINDOW",
    default=DEFAULTS.webhook_rotation_window,
    show_default=True,
    show_envvar=True,
    type=click.FloatRange(min=0, max=30 * 86400),
    help="Seconds a rotated-out webhook signing secret still signs beside the new one "
    "(on the merchant's clock).",
)


def _settlement_schedule(at: str, zone: str) -> None:
    try:
        Schedule.parse(at, zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _cutoff(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """`--settlement-cutoff`: a time of day like 23:59."""
    _settlement_schedule(value, "UTC")
    return value


def _zone(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """`--settlement-timezone`: an IANA time zone."""
    _settlement_schedule("00:00", value)
    return value


settlement_cutoff_option = click.option(
    "--settlement-cutoff",
    envvar="KCO_SANDBOX_SETTLEMENT_CUTOFF",
    default=DEFAULTS.settlement_cutoff,
    show_default=True,
    show_envvar=True,
    callback=_cutoff,
    help="The daily settlement cut-off (HH:MM, in --settlement-timezone, on each merchant's "
    "clock): what was captured or refunded before it is paid out at it.",
)

settlement_timezone_option = click.option(
    "--settlement-timezone",
    envvar="KCO_SANDBOX_SETTLEMENT_TIMEZONE",
    default=DEFAULTS.settlement_timezone,
    show_default=True,
    show_envvar=True,
    callback=_zone,
    help="The IANA time zone of --settlement-cutoff (the vendor settles at 23:59 CET).",
)

settlement_fee_bps_option = click.option(
    "--settlement-fee-bps",
    envvar="KCO_SANDBOX_SETTLEMENT_FEE_BPS",
    default=DEFAULTS.settlement_fee_bps,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=0, max=MAX_PERCENT_BPS),
    help="The default purchase fee, in hundredths of a per cent of each capture (300 = 3 %).",
)

settlement_fee_fixed_option = click.option(
    "--settlement-fee-fixed",
    envvar="KCO_SANDBOX_SETTLEMENT_FEE_FIXED",
    default=DEFAULTS.settlement_fee_fixed,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=0, max=MAX_FIXED_FEE),
    help="The default fixed purchase fee per capture, in minor units (100 = 1.00).",
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
    hpp_email_limit_option,
    hpp_sms_limit_option,
    hpp_encoded_placeholders_option,
    webhook_destinations_option,
    webhook_rotation_window_option,
    settlement_cutoff_option,
    settlement_timezone_option,
    settlement_fee_bps_option,
    settlement_fee_fixed_option,
]


def shared_use_options(command: F) -> F:
    """Apply every option above to `command`."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
