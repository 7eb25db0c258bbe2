"""`kco-sandbox serve`: build the platform from flags and `KCO_SANDBOX_*` variables and run it.

Every flag's default is the `Settings` default (`options.DEFAULTS`), so the command line and the
typed settings cannot disagree.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import click
import uvicorn
from sqlalchemy.engine import make_url

from kco_sandbox import __version__
from kco_sandbox.cli import options
from kco_sandbox.cli.options import DEFAULTS
from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.delivery import parse_gaps
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import new_secret
from kco_sandbox.platform import build_platform
from kco_sandbox.settings import (
    DEFAULT_MERCHANT_NAME,
    Settings,
    load_merchants_file,
    parse_merchant,
)
from kco_sandbox.store import Store
from kco_sandbox.web.protocol import TolerantH11Protocol

DEMO_MERCHANT_ID = "demo-merchant"


@click.command()
@click.option(
    "--host", envvar="KCO_SANDBOX_HOST", default=DEFAULTS.host, show_default=True, show_envvar=True
)
@click.option(
    "--port",
    envvar="KCO_SANDBOX_PORT",
    default=DEFAULTS.port,
    show_default=True,
    show_envvar=True,
    type=int,
)
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
@click.option(
    "--log-level",
    envvar="KCO_SANDBOX_LOG_LEVEL",
    default=DEFAULTS.log_level,
    show_default=True,
    show_envvar=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
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
) -> None:
    """Run the server until SIGINT or SIGTERM."""
    try:
        configured = [parse_merchant(m) for m in merchants]
        if merchants_file is not None:
            configured += load_merchants_file(merchants_file)
        push_gaps = parse_gaps(push_schedule)
        notification_gaps = parse_gaps(notification_schedule)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
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
    )
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    store = open_store(settings.database_url)
    clock = SystemClock(scale=settings.clock_scale)
    active = resolve_merchants(store, settings, clock)
    platform = build_platform(settings, store, clock, active)
    delivery = platform.worker
    click.echo(f"kco-sandbox {__version__} listening on http://{host}:{port}")
    click.echo(f"database: {display_url(settings.database_url)}")
    for merchant in active:
        click.echo(
            f"merchant {merchant.name!r}: username {merchant.merchant_id} "
            f"password {merchant.api_key}"
        )
    config = uvicorn.Config(
        platform.app,
        host=host,
        port=port,
        http=TolerantH11Protocol,
        server_header=False,
        date_header=False,
        log_level=log_level,
        access_log=log_level == "debug",
        lifespan="off",
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal to the
    # handler it found; a no-op handler makes that clean shutdown end with exit status 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: None)
    if delivery is not None:
        delivery.start()
    try:
        uvicorn.Server(config).run()
    finally:
        if delivery is not None:
            delivery.stop()
        store.close()
    click.echo("kco-sandbox stopped")


def open_store(database_url: str) -> Store:
    """The store; SQLite databases are created and migrated on the spot."""
    store = Store.for_url(database_url, migrate=database_url.startswith("sqlite"))
    if not store.is_current():
        store.close()
        raise click.ClickException(
            "the database schema is not current: run `kco-sandbox db upgrade` first"
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


def display_url(url: str) -> str:
    """The database URL without its password."""
    return make_url(url).render_as_string(hide_password=True)
