"""`kco-sandbox serve`: build the platform from flags and `KCO_SANDBOX_*` variables and run it.

Every flag's default is the `Settings` default (`options.DEFAULTS`), so the command line and the
typed settings cannot disagree.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import socket
from functools import partial
from pathlib import Path

import click

from kco_sandbox import __version__, logs
from kco_sandbox.cli import options
from kco_sandbox.cli.errors import (
    ConfigError,
    bad_value,
    check_database_url,
    database_errors,
    display_url,
    given_as,
)
from kco_sandbox.cli.options import DEFAULTS
from kco_sandbox.cli.serve_options import http_option, shared_use_options
from kco_sandbox.cli.supervisor import supervise
from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.delivery import parse_gaps
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import new_secret
from kco_sandbox.platform import build_platform
from kco_sandbox.settings import (
    DEFAULT_MERCHANT_NAME,
    Settings,
    check_profile,
    load_merchants_file,
    parse_merchant,
    unique_merchants,
)
from kco_sandbox.store import Store
from kco_sandbox.web.server_config import serve_app

DEMO_MERCHANT_ID = "demo-merchant"


@click.command()
@options.host_option
@options.port_option
@options.database_option
@click.option(
    "--public-url",
    envvar="KCO_SANDBOX_PUBLIC_URL",
    default=DEFAULTS.public_url,
    show_envvar=True,
    help="Base of Location headers and checkout URLs [default: the Host the client used]",
)
@click.option(
    "--merchant",
    "merchants",
    envvar="KCO_SANDBOX_MERCHANT",
    multiple=True,
    show_envvar=True,
    metavar="USER:PASSWORD[:NAME]",
    help="A merchant's credentials; repeatable (space-separated in the variable).",
)
@click.option(
    "--merchants-file",
    envvar="KCO_SANDBOX_MERCHANTS_FILE",
    show_envvar=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON array of {username, password, name?, markets?}.",
)
@click.option(
    "--max-body-bytes",
    envvar="KCO_SANDBOX_MAX_BODY_BYTES",
    default=DEFAULTS.max_body_bytes,
    show_default=True,
    show_envvar=True,
    type=int,
)
@click.option(
    "--allow-http-callbacks/--https-callbacks-only",
    envvar="KCO_SANDBOX_ALLOW_HTTP_CALLBACKS",
    default=DEFAULTS.allow_http_callbacks,
    show_default=True,
    show_envvar=True,
    help="Accept http:// for validation/address/shipping/country callback URLs.",
)
@click.option(
    "--sandbox-api/--no-sandbox-api",
    envvar="KCO_SANDBOX_SANDBOX_API",
    default=DEFAULTS.sandbox_api,
    show_default=True,
    show_envvar=True,
    help="Serve the /_sandbox/ control API (complete checkouts without a browser).",
)
@click.option(
    "--shipping-callback-timeout",
    envvar="KCO_SANDBOX_SHIPPING_CALLBACK_TIMEOUT",
    default=DEFAULTS.shipping_callback_timeout,
    show_default=True,
    show_envvar=True,
    type=float,
    help="Seconds to wait for address_update, country_change and shipping_option_update.",
)
@click.option(
    "--validation-timeout",
    envvar="KCO_SANDBOX_VALIDATION_TIMEOUT",
    default=DEFAULTS.validation_timeout,
    show_default=True,
    show_envvar=True,
    type=float,
    help="Seconds to wait for the validation callback; no answer by then approves.",
)
@click.option(
    "--validation-required-timeout",
    envvar="KCO_SANDBOX_VALIDATION_REQUIRED_TIMEOUT",
    default=DEFAULTS.validation_required_timeout,
    show_default=True,
    show_envvar=True,
    type=float,
    help="Seconds to wait when require_validate_callback_success is set; then it fails.",
)
@click.option(
    "--worker/--no-worker",
    envvar="KCO_SANDBOX_WORKER",
    default=DEFAULTS.worker,
    show_default=True,
    show_envvar=True,
    help="Deliver push and notification callbacks in this process (else run `kco-sandbox worker`).",
)
@options.push_schedule_option
@options.notification_schedule_option
@options.callback_timeout_option
@options.clock_scale_option
@options.log_level_option
@options.log_format_option
@http_option
@shared_use_options
def serve(
    host: str,
    port: int,
    database_url: str,
    public_url: str,
    merchants: tuple[str, ...],
    merchants_file: Path | None,
    max_body_bytes: int,
    allow_http_callbacks: bool,
    sandbox_api: bool,
    shipping_callback_timeout: float,
    validation_timeout: float,
    validation_required_timeout: float,
    worker: bool,
    push_schedule: str,
    notification_schedule: str,
    callback_timeout: float,
    clock_scale: float,
    log_level: str,
    log_format: str,
    http: str,
    profile: str,
    allowed_hosts: tuple[str, ...],
    demo_shop: bool | None,
    callback_hosts: tuple[str, ...],
    private_callbacks: bool | None,
    max_connections: int,
    idle_timeout: float,
    request_timeout: float,
    merchant_callback_slots: int,
    retention_days: float,
    workers: int,
    settlement_cutoff: str,
    settlement_timezone: str,
    settlement_fee_bps: int,
    settlement_fee_fixed: int,
    hpp_email_limit: int,
    hpp_sms_limit: int,
    hpp_encoded_placeholders: bool,
    webhook_destinations: int,
    webhook_rotation_window: float,
) -> None:
    """Run the server until SIGINT or SIGTERM."""
    configured = configured_merchants(merchants, merchants_file)
    push_gaps = schedule("push_schedule", push_schedule)
    notification_gaps = schedule("notification_schedule", notification_schedule)
    settings = Settings(
        host=host,
        port=port,
        database_url=database_url,
        public_url=public_url,
        merchants=tuple(configured),
        max_body_bytes=max_body_bytes,
        allow_http_callbacks=allow_http_callbacks,
        sandbox_api=sandbox_api,
        shipping_callback_timeout=shipping_callback_timeout,
        validation_timeout=validation_timeout,
        validation_required_timeout=validation_required_timeout,
        push_schedule=push_gaps,
        notification_schedule=notification_gaps,
        callback_timeout=callback_timeout,
        worker=worker,
        clock_scale=clock_scale,
        log_level=log_level,
        log_format=log_format,
        profile=profile,
        allowed_hosts=allowed_hosts,
        demo_shop=demo_shop,
        callback_hosts=callback_hosts,
        private_callbacks=private_callbacks,
        max_connections=max_connections,
        idle_timeout=idle_timeout,
        request_timeout=request_timeout,
        http=http,
        merchant_callback_slots=merchant_callback_slots,
        retention_days=retention_days,
        workers=workers,
        settlement_cutoff=settlement_cutoff,
        settlement_timezone=settlement_timezone,
        settlement_fee_bps=settlement_fee_bps,
        settlement_fee_fixed=settlement_fee_fixed,
        hpp_email_limit=hpp_email_limit,
        hpp_sms_limit=hpp_sms_limit,
        hpp_encoded_placeholders=hpp_encoded_placeholders,
        webhook_destinations=webhook_destinations,
        webhook_rotation_window=webhook_rotation_window,
    )
    try:
        check_profile(settings)
    except ValueError as exc:
        raise ConfigError(f"{given_as('profile')} {profile}: {exc}") from exc
    logs.configure(settings.log_level, settings.log_format)
    sockets = bind(host, port)
    try:
        store = open_store(settings.database_url)
        clock = SystemClock(scale=settings.clock_scale)
        with database_errors(settings.database_url):
            active = resolve_merchants(store, settings, clock)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    # The port bound (`--port 0` binds a free one): the app's listen address, where the demo
    # shop calls the platform.
    bound_port = sockets[0].getsockname()[1]
    settings = dataclasses.replace(settings, port=bound_port)
    if settings.workers > 1:  # N server processes, supervised here (cli/supervisor.py)
        try:
            banner = partial(print_banner, settings, active)
            supervise(settings, store, clock, active, sockets, banner)
        finally:
            store.close()
        click.echo("kco-sandbox stopped")
        return
    platform = build_platform(settings, store, clock, active)
    delivery = platform.worker
    for sock in sockets:
        sock.listen()  # from here connections wait for the server instead of being refused
    print_banner(settings, active)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal to the
    # handler it found; a no-op handler makes that clean shutdown end with exit status 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    if delivery is not None:
        delivery.start()
    try:
        serve_app(platform.app, settings, sockets)  # uvicorn, with the connection limits
    finally:
        if delivery is not None:
            delivery.stop()
        store.close()
    click.echo("kco-sandbox stopped")


def print_banner(settings: Settings, active: list[Merchant], pids: list[int] | None = None) -> None:
    """What is running where: the URL, the database, the credentials, where to go next."""
    base = f"http://{url_host(settings.host)}:{settings.port}"
    click.echo(f"kco-sandbox {__version__} listening on {base}")
    if pids:
        shown = ", ".join(map(str, pids))
        click.echo(f"server processes: {len(pids)} (pids {shown}), supervised by pid {os.getpid()}")
    click.echo(f"database: {display_url(settings.database_url)}")
    for merchant in active:
        click.echo(
            f"merchant {merchant.name!r}: username {merchant.merchant_id} "
            f"password {merchant.api_key}"
        )
    # Where to go next: the shop to buy in by hand, the API's base, the probe.
    if active and settings.demo_shop_on:
        click.echo(f"open {base}/demo to buy in the demo shop")
    click.echo(f"portal: {base}/portal (sign in with a merchant's username and password)")
    click.echo(f"API base URL: {base} (KCO_SANDBOX_URL); health: {base}/_sandbox/health")


def configured_merchants(flags: tuple[str, ...], path: Path | None) -> list[Merchant]:
    """The merchants of the `--merchant` flags and of the merchants file, each username once."""
    given: list[tuple[str, Merchant]] = []
    for text in flags:
        try:
            given.append((given_as("merchants"), parse_merchant(text)))
        except ValueError:
            shown = _without_password(text)
            raise bad_value("merchants", f"expected USER:PASSWORD[:NAME], got {shown!r}") from None
    if path is not None:
        try:
            loaded = load_merchants_file(path)
        except ValueError as exc:
            raise ConfigError(f"{given_as('merchants_file')} {exc}") from exc
        given += [(f"{path} entry {n}", merchant) for n, merchant in enumerate(loaded, 1)]
    try:
        return unique_merchants(given)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _without_password(text: str) -> str:
    user, _, rest = text.partition(":")
    password, sep, name = rest.partition(":")
    return f"{user}:***{sep}{name}" if password else text


def schedule(name: str, text: str) -> tuple[int, ...]:
    """The `--push-schedule` or `--notification-schedule` (`name`) given as `text`."""
    try:
        return parse_gaps(text)
    except ValueError as exc:
        raise bad_value(name, str(exc)) from exc


def bind(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address of `host` at `port`, not yet listening, as asyncio binds.

    Bound here rather than by uvicorn, so that a port in use or a host that cannot be bound is a
    one-line error, and "listening" is printed only once it is true.
    """
    try:
        addresses = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ConfigError(f"{given_as('host')} {host}: unknown host ({exc.strerror})") from exc
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # IPv4 gets a socket of its own, as asyncio does it
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address[0], port, *address[2:]))
            port = sock.getsockname()[1]  # `--port 0`: every address on the port the first got
    except OSError as exc:
        for sock in sockets:
            sock.close()
        where = f"{url_host(host)}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"{given_as('port')} {port}: {where} is already in use") from exc
        flag = given_as("port") if exc.errno == errno.EACCES else given_as("host")
        value = port if exc.errno == errno.EACCES else host
        raise ConfigError(f"{flag} {value}: cannot listen on {where} ({exc.strerror})") from exc
    return sockets


def url_host(host: str) -> str:
    """`host` as it goes in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def open_store(database_url: str) -> Store:
    """The store, or a one-line reason it cannot be used. SQLite databases are created and
    migrated on the spot; PostgreSQL ones must have been upgraded with `kco-sandbox db upgrade`."""
    parsed = check_database_url(database_url)
    with database_errors(database_url):
        store = Store.for_url(database_url, migrate=parsed.get_backend_name() == "sqlite")
        current = store.is_current()
    if not current:
        store.close()
        shown = display_url(database_url)
        raise ConfigError(
            f"{given_as('database_url')} {shown}: the schema is not current; "
            f"run `kco-sandbox db upgrade --database-url {shown}` first"
        )
    return store


def resolve_merchants(store: Store, settings: Settings, clock: SystemClock) -> list[Merchant]:
    """The merchants that may sign in: the configured ones, else the stored ones, else a demo."""
    for merchant in settings.merchants:
        store.merchants.put(merchant, clock.now())
    if settings.merchants:
        return list(settings.merchants)
    stored = store.merchants.list()
    if stored:
        return stored
    demo = Merchant(DEMO_MERCHANT_ID, new_secret(), DEFAULT_MERCHANT_NAME)
    store.merchants.put(demo, clock.now())
    return [demo]
