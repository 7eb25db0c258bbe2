"""`kco-sandbox db upgrade`: create or upgrade the schema (PostgreSQL needs it before `serve`);
`kco-sandbox db prune`: delete now what the retention window has passed, and say what."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import click

from kco_sandbox.cli import options
from kco_sandbox.cli.errors import check_database_url, database_errors, display_url
from kco_sandbox.cli.serve import open_store
from kco_sandbox.clock import SystemClock
from kco_sandbox.services.delivery import stored_offset
from kco_sandbox.services.retention import RetentionService
from kco_sandbox.store import Store


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command()
@options.database_option
def upgrade(database_url: str) -> None:
    """Create or upgrade the schema to the current version."""
    check_database_url(database_url)
    with database_errors(database_url):
        Store.for_url(database_url, migrate=True).close()
    click.echo(f"database {display_url(database_url)} is at the current schema")


def _merchant_now(store: Store) -> Callable[[str], datetime]:
    """Each merchant's time: real time plus how far that merchant moved its clock (stored with
    the data), as `orders list` reads it."""

    def now(merchant_id: str) -> datetime:
        return SystemClock(offset=stored_offset(store, merchant_id)).now()

    return now


@db.command()
@options.database_option
@click.option(
    "--retention-days",
    envvar="KCO_SANDBOX_RETENTION_DAYS",
    default=options.DEFAULTS.retention_days,
    show_default=True,
    show_envvar=True,
    type=click.FloatRange(min=0),
    help="Delete what stopped being changeable more than this many days ago; 0 deletes nothing.",
)
def prune(database_url: str, retention_days: float) -> None:
    """Delete finished orders past the retention window, with their records, old idempotency
    keys and unused customer tokens; print how many rows of each went."""
    store = open_store(database_url)
    try:
        with database_errors(database_url):
            removed = RetentionService(store, retention_days, _merchant_now(store)).prune()
    finally:
        store.close()
    click.echo(
        f"pruned {removed.orders} orders, {removed.om_orders} Order Management orders, "
        f"{removed.events} events, {removed.callbacks} callbacks, {removed.attempts} attempts, "
        f"{removed.idempotency_keys} idempotency keys, {removed.tokens} customer tokens, "
        f"{removed.payouts} payouts (older than {retention_days:g} days)"
    )
