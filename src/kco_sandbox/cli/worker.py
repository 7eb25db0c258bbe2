"""`kco-sandbox worker`: deliver push and notification callbacks in a process of its own, beside
`serve --no-worker` (several workers may share one database). Each merchant's callbacks fall due
at that merchant's own time (the offsets its clock advances stored), and go out on a lane of their
own. Where callbacks may go, and how long finished orders are kept, are the same flags as
`serve`'s; the worker prunes as the server's own worker does."""

from __future__ import annotations

import signal

import click

from kco_sandbox import logs
from kco_sandbox.cli import options, serve_options
from kco_sandbox.cli.serve import open_store, schedule
from kco_sandbox.clock import MerchantClocks, SystemClock
from kco_sandbox.outbound.worker import Worker
from kco_sandbox.platform import delivery_headers, merchant_http
from kco_sandbox.services.delivery import DeliveryService
from kco_sandbox.services.retention import RetentionService
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
@serve_options.profile_option
@serve_options.callback_host_option
@serve_options.private_callbacks_option
@serve_options.retention_days_option
def worker(
    database_url: str,
    push_schedule: str,
    notification_schedule: str,
    callback_timeout: float,
    clock_scale: float,
    poll: float,
    log_level: str,
    log_format: str,
    profile: str,
    callback_hosts: tuple[str, ...],
    private_callbacks: bool | None,
    retention_days: float,
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
        profile=profile,
        callback_hosts=callback_hosts,
        private_callbacks=private_callbacks,
        retention_days=retention_days,
    )
    logs.configure(settings.log_level, settings.log_format)
    store = open_store(settings.database_url)
    # Where callbacks may go is checked here as in `serve`: the same flags, the same profile.
    http = merchant_http(settings)
    # Each merchant's clock: the offsets the server stored are taken up at every round.
    clocks = MerchantClocks(SystemClock(scale=settings.clock_scale))
    service = DeliveryService(
        clocks, store, http, settings.delivery, headers=delivery_headers(store)
    )
    retention = RetentionService(store, settings.retention_days, clocks.now)

    def run_round() -> float:
        pause = service.run_round(poll)
        retention.prune_if_due()
        return pause

    loop = Worker(run_round, poll=poll)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: loop.stopping.set())
    click.echo("kco-sandbox worker delivering callbacks (SIGTERM stops it)")
    try:
        loop.run()
    finally:
        http.close()
        store.close()
    click.echo("kco-sandbox worker stopped")
