"""`kco-sandbox orders show|list`, `callbacks list`: what the database holds, as the API shows it.

These commands only look: they never create or migrate a database, and they show statuses and
times through the API's own renderers, at the platform's time (real time plus the stored clock
offset), so they cannot disagree with what a client of the API reads.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from kco_sandbox.cli import options
from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.checkout.record import CheckoutRecord
from kco_sandbox.domain.order_management.order import OmOrder, OmOrderView
from kco_sandbox.services.delivery import stored_offset
from kco_sandbox.store import Store
from kco_sandbox.web.api.checkout_render import render_order
from kco_sandbox.web.api.order_management_render import om_time, render_om_order


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def shown_url(database_url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except SQLAlchemyError:  # not a URL at all
        return database_url


def _reason(exc: Exception) -> str:
    """The first line of the driver's own error, without SQLAlchemy's wrapping."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def read_store(
    database_url: str, instead: str = "start the server first or give --database-url"
) -> Store:
    """The store for a command that only looks: an existing database at the current schema.

    Never created (SQLite would make an empty file of a wrong path, and the command would report
    an empty platform) and never migrated: looking must not change what is looked at.
    """
    shown = shown_url(database_url)
    try:
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
            raise click.ClickException(f"no database at {shown}: {instead}")
        store = Store.for_url(database_url, migrate=False)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot open the database at {shown}: {_reason(exc)}") from exc
    try:
        current = store.is_current()
    except SQLAlchemyError as exc:
        store.close()
        raise click.ClickException(f"cannot read the database at {shown}: {_reason(exc)}") from exc
    if not current:
        store.close()
        raise click.ClickException(
            f"the database at {shown} does not have the current schema: "
            "run `kco-sandbox db upgrade`, or start the server on it"
        )
    return store


@click.group()
def callbacks() -> None:
    """Push and notification callbacks in the outbox."""


@callbacks.command("list")
@options.database_option
@click.option("--order", "order_id", help="Only this order's callbacks.")
def callbacks_list(database_url: str, order_id: str | None) -> None:
    """List callbacks with their status, attempts and next attempt."""
    store = read_store(database_url)
    try:
        rows = store.outbox.list_callbacks(order_id)
    finally:
        store.close()
    for row in rows:
        next_at = row["next_attempt_at"]
        click.echo(
            f"{row['callback_id']}  {row['kind']:<12} {row['status']:<9} "
            f"attempts={row['attempts']:<3} next={om_time(next_at) if next_at else '-'}  "
            f"order={row['order_id']}"
        )


@click.group()
def orders() -> None:
    """Orders as the platform holds them, with the statuses the API shows."""


def _platform_now(store: Store, merchant_id: str) -> datetime:
    """The merchant's time: real time plus how far its clock has been moved (stored with the
    data). A server run with `--clock-scale` also runs faster from its own start, which the
    database does not hold: its time is then ahead of this."""
    return SystemClock(offset=stored_offset(store, merchant_id)).now()  # the merchant's own


def _as_the_api_shows(
    record: CheckoutRecord, managed: OmOrder | None, now: datetime
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The order as the Checkout API and the Order Management API answer it at `now`.

    The API's own renderers, so statuses and times cannot drift from what a client reads. The
    base URL and the store's name only feed `html_snippet` and `name`, which are not shown.
    """
    checkout = render_order(record, base_url="", merchant_name="")
    # Without the capture and refund lists, which neither command shows.
    om = None if managed is None else render_om_order(OmOrderView(managed, [], []), now)
    return checkout, om


def _in_api_time(row: dict[str, Any], name: str) -> dict[str, Any]:
    """`row` with its time `name` (if any) written as the API writes times."""
    return {**row, name: om_time(row[name])} if row[name] is not None else row


@orders.command("show")
@click.argument("order_id")
@options.database_option
def orders_show(order_id: str, database_url: str) -> None:
    """Print an order's statuses (as the API shows them now), amounts and history."""
    store = read_store(database_url)
    try:
        record = store.checkouts.get(order_id)
        if record is None:
            raise click.ClickException(f"no order {order_id} in {shown_url(database_url)}")
        now = _platform_now(store, record.merchant_id)
        stored = store.orders.get(order_id)
        managed = None if stored is None else stored[0]
        checkout, om = _as_the_api_shows(record, managed, now)
        history = sorted(
            store.events.list(order_id) + store.outbox.attempts_for(order_id),
            key=lambda e: e["at"],
        )
        rows = store.outbox.list_callbacks(order_id)
    finally:
        store.close()
    print_json(
        {
            "order_id": order_id,
            "merchant_id": record.merchant_id,
            "platform_time": om_time(now),
            "checkout_status": checkout["status"],
            "aborted": record.status is CheckoutStatus.ABORTED,
            # Past its lifetime the Checkout API answers 404; Order Management still has it.
            "expired": record.is_expired(now),
            "order_amount": checkout["order_amount"],
            "purchase_currency": checkout["purchase_currency"],
            "started_at": checkout["started_at"],
            "last_modified_at": checkout["last_modified_at"],
            "completed_at": checkout.get("completed_at"),
            # Order Management's answer without its lists and objects (lines, addresses, ...).
            "order_management": None
            if managed is None or om is None
            else {
                **{name: v for name, v in om.items() if not isinstance(v, list | dict)},
                "capture_count": managed.capture_count,
                "refund_count": managed.refund_count,
                "acknowledged": managed.acknowledged_at is not None,
            },
            "callbacks": [_in_api_time(row, "next_attempt_at") for row in rows],
            "events": [_in_api_time(event, "at") for event in history],
        }
    )


_COLUMNS = ("ORDER_ID", "MERCHANT", "CHECKOUT", "OM", "FRAUD", "AMOUNT", "CURRENCY", "CREATED")


@orders.command("list")
@options.database_option
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="Show at most this many orders.",
)
def orders_list(database_url: str, limit: int) -> None:
    """List the newest orders first, with their statuses as the API shows them now.

    AMOUNT is Order Management's order amount once there is one, else the checkout's; CREATED is
    when the checkout was started.
    """
    store = read_store(database_url)
    try:
        rows: list[tuple[str, ...]] = []
        for record in store.checkouts.list_recent(limit):
            now = _platform_now(store, record.merchant_id)
            stored = store.orders.get(record.order_id)
            checkout, om = _as_the_api_shows(record, None if stored is None else stored[0], now)
            amounts = om or checkout
            rows.append(
                (
                    record.order_id,
                    record.merchant_id,
                    checkout["status"],
                    om["status"] if om else "-",
                    om["fraud_status"] if om else "-",
                    str(amounts["order_amount"]),
                    amounts["purchase_currency"],
                    checkout["started_at"],
                )
            )
    finally:
        store.close()
    if not rows:
        click.echo(f"no orders in {shown_url(database_url)}")
        return
    table = [_COLUMNS, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(_COLUMNS))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())
