"""The command line: `kco-sandbox serve`, `db upgrade`, `worker`, `clock`, `callbacks`, `orders`.

Every flag can also be given as a `KCO_SANDBOX_*` environment variable (named on `--help`).
"""

from __future__ import annotations

import click

from kco_sandbox import __version__
from kco_sandbox.cli import clock, db, orders, serve, worker


@click.group()
@click.version_option(__version__, prog_name="kco-sandbox")
def main() -> None:
    """kco-sandbox: the Kustom Checkout platform on one machine."""


main.add_command(serve.serve)
main.add_command(db.db)
main.add_command(worker.worker)
main.add_command(clock.clock)
main.add_command(orders.callbacks)
main.add_command(orders.orders)
