"""`kco-sandbox worker`: deliver push and notification callbacks in a process of its own, beside
`serve --no-worker` (several workers may share one database)."""

from __future__ import annotations

import functools
import signal

import click

from kco_sandbox import logs
from kco_sandbox.cli import options
from kco_sandbox.cli.serve import open_store, schedule
from kco_sandbox.clock import SystemClock
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.outbound.worker import Worker
from kco_sandbox.services.delivery import DeliveryService
from kco_sandbox.settings import Settings


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
@options.log_level_option
@options.log_format_option
def worker(
    database_url: str,
    push_schedule: str,
    notification_schedule: str,
    callback_timeout: float,
    clock_scale: float,
    poll: float,
    log_level: str,
    log_format: str,
) -> None:
    """Deliver push and notification callbacks (run beside `serve --no-worker`)."""
    settings = Settings(
        database_url=database_url,
        push_schedule=schedule("push_schedule", push_schedule),
        notification_schedule=schedule("notification_schedule", notification_schedule),
        callback_timeout=callback_timeout,
        clock_scale=clock_scale,
        log_level=log_level,
        log_format=log_format,
    )
    logs.configure(settings.log_level, settings.log_format)
    store = open_store(settings.database_url)
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
