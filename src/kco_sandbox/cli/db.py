"""`kco-sandbox db upgrade`: create or upgrade the schema (PostgreSQL needs it before `serve`)."""

from __future__ import annotations

import click

from kco_sandbox.cli import options
from kco_sandbox.cli.errors import check_database_url, database_errors, display_url
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
