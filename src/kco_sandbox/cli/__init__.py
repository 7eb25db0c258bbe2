"""The command line: `kco-sandbox serve`, `db upgrade`, `worker`, `clock`, `callbacks`, `orders`.

Every flag can also be given as a `KCO_SANDBOX_*` environment variable (named on `--help`).

Each command's module is imported when that command runs (or `--help` lists it), not before:
`serve` then loads neither the HTTP client of `clock` and `orders` nor what it does not use,
which keeps the time from starting the server to its first answer short.
"""

from __future__ import annotations

import importlib

import click

from kco_sandbox import __version__

# Each command: the module that defines it and the name it has there.
COMMANDS = {
    "serve": ("kco_sandbox.cli.serve", "serve"),
    "db": ("kco_sandbox.cli.db", "db"),
    "worker": ("kco_sandbox.cli.worker", "worker"),
    "clock": ("kco_sandbox.cli.clock", "clock"),
    "callbacks": ("kco_sandbox.cli.orders", "callbacks"),
    "orders": ("kco_sandbox.cli.orders", "orders"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use (click's documented lazy pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module, name = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), name)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}.{name} is not a click command")
        return command


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="kco-sandbox")
def main() -> None:
    """kco-sandbox: the Kustom Checkout platform on one machine."""
