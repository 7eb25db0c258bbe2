"""Command-line tools beside `serve`: the delivery worker, the clock, callbacks and orders.

`clock` talks to a running server over HTTP (the clock lives in the server process); the other
tools read or work on the database directly.
"""

from __future__ import annotations

import functools
import json
import re
import signal
from typing import Any

import click
import httpx

from kco_sandbox.cli import options
from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.delivery import parse_gaps
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.outbound.worker import Worker
from kco_sandbox.services.delivery import DeliveryService
from kco_sandbox.settings import Settings, parse_merchant
from kco_sandbox.store import Store

_DURATION = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)(?P<unit>[smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """`2h`, `90m`, `30s`, `1d` or plain seconds → seconds."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise click.BadParameter(f"expected a duration like 2h, 90m, 30s or 1d, got {text!r}")
    return float(found.group("amount")) * _UNIT_SECONDS[found.group("unit")]


def _store(database_url: str) -> Store:
    store = Store.for_url(database_url, migrate=database_url.startswith("sqlite"))
    if not store.is_current():
        raise click.ClickException(
            "the database schema is not current: run `kco-sandbox db upgrade`"
        )
    return store


def _print(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def register(main: click.Group) -> None:
    main.add_command(worker)
    main.add_command(clock)
    main.add_command(callbacks)
    main.add_command(orders)


@click.command()
@options.database_option
@options.push_schedule_option
@options.notification_schedule_option
@options.callback_timeout_option
@options.clock_scale_option
@click.option(
    "--poll",
    default=1.0,
    show_default=True,
    type=float,
    help="Seconds between looks for callbacks other processes queued.",
)
def worker(
    database_url: str,
    push_schedule: str,
    notification_schedule: str,
    callback_timeout: float,
    clock_scale: float,
    poll: float,
) -> None:
    """Deliver push and notification callbacks (run beside `serve --no-worker`)."""
    try:
        settings = Settings(
            database_url=database_url,
            push_schedule=parse_gaps(push_schedule),
            notification_schedule=parse_gaps(notification_schedule),
            callback_timeout=callback_timeout,
            clock_scale=clock_scale,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    store = _store(settings.database_url)
    http = MerchantHttp()
    service = DeliveryService(
        SystemClock(scale=settings.clock_scale), store, http, settings.delivery
    )
    loop = Worker(functools.partial(service.run_round, poll), poll=poll)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: loop.stopping.set())
    click.echo("kco-sandbox worker delivering callbacks (SIGTERM stops it)")
    try:
        loop.run()
    finally:
        http.close()
        store.close()
    click.echo("kco-sandbox worker stopped")


def _credentials(merchant: str | None, database_url: str) -> tuple[str, str]:
    if merchant:
        parsed = parse_merchant(merchant.split()[0])
        return parsed.merchant_id, parsed.api_key
    store = _store(database_url)
    try:
        stored = store.merchants.list()
    finally:
        store.close()
    if not stored:
        raise click.UsageError("no merchant: give --merchant USER:PASSWORD")
    return stored[0].merchant_id, stored[0].api_key


@click.group()
def clock() -> None:
    """Read or move a running server's platform clock."""


def _server_options(function: Any) -> Any:
    function = click.option(
        "--url",
        envvar="KCO_SANDBOX_URL",
        default="http://127.0.0.1:8000",
        show_default=True,
        help="The running server.",
    )(function)
    function = click.option(
        "--merchant",
        envvar="KCO_SANDBOX_MERCHANT",
        metavar="USER:PASSWORD",
        help="Credentials [default: the first stored merchant].",
    )(function)
    return options.database_option(function)


def _call(method: str, url: str, auth: tuple[str, str], body: Any = None) -> Any:
    try:
        response = httpx.request(method, url, auth=auth, json=body, timeout=300)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the server: {exc}") from exc
    if response.status_code >= 400:
        raise click.ClickException(f"{response.status_code}: {response.text}")
    return response.json()


@clock.command("show")
@_server_options
def clock_show(url: str, merchant: str | None, database_url: str) -> None:
    """Print the platform's time."""
    _print(_call("GET", f"{url}/_sandbox/clock", _credentials(merchant, database_url)))


@clock.command("advance")
@click.argument("duration")
@_server_options
def clock_advance(duration: str, url: str, merchant: str | None, database_url: str) -> None:
    """Move the clock forward by DURATION (2h, 90m, 30s, 1d) and deliver what fell due."""
    seconds = parse_duration(duration)
    body = {"seconds": seconds}
    _print(
        _call("POST", f"{url}/_sandbox/clock/advance", _credentials(merchant, database_url), body)
    )


@click.group()
def callbacks() -> None:
    """Push and notification callbacks in the outbox."""


@callbacks.command("list")
@options.database_option
@click.option("--order", "order_id", help="Only this order's callbacks.")
def callbacks_list(database_url: str, order_id: str | None) -> None:
    """List callbacks with their status, attempts and next attempt."""
    store = _store(database_url)
    try:
        rows = store.outbox.list_callbacks(order_id)
    finally:
        store.close()
    for row in rows:
        click.echo(
            f"{row['callback_id']}  {row['kind']:<12} {row['status']:<9} "
            f"attempts={row['attempts']:<3} next={row['next_attempt_at'] or '-'}  "
            f"order={row['order_id']}"
        )


@click.group()
def orders() -> None:
    """Orders as the platform holds them."""


@orders.command("show")
@click.argument("order_id")
@options.database_option
def orders_show(order_id: str, database_url: str) -> None:
    """Print an order's checkout status, Order Management state and history."""
    store = _store(database_url)
    try:
        record = store.checkouts.get(order_id)
        if record is None:
            raise click.ClickException(f"no order {order_id}")
        managed = store.orders.get(order_id)
        history = sorted(
            store.events.list(order_id) + store.outbox.attempts_for(order_id),
            key=lambda e: e["at"],
        )
        _print(
            {
                "order_id": order_id,
                "merchant_id": record.merchant_id,
                "checkout_status": record.status.value,
                "order_management": None
                if managed is None
                else {
                    "fraud_status": managed[0].fraud_status,
                    "captures": len(managed[0].captures),
                    "refunds": len(managed[0].refunds),
                    "acknowledged": managed[0].acknowledged_at is not None,
                },
                "callbacks": store.outbox.list_callbacks(order_id),
                "events": history,
            }
        )
    finally:
        store.close()
