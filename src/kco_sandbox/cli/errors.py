"""Start-up errors a user can fix: one line naming the flag or file and what is wrong, exit code 2.

Two kinds, both in click's conventions:

- a value that is wrong in itself (`--push-schedule x`, `--database-url nonsense`) is a
  `click.BadParameter`, which prints the usage and `Invalid value for '--flag': …`;
- a value that is well-formed but cannot work (a database that cannot be reached, a port in use,
  a merchants file with a broken entry) is a `ConfigError`: `Error: --flag value: what is wrong`.

Either way no traceback, and no password: database URLs are shown with `***` in its place.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from click.core import ParameterSource
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

EXPECTED_URL = "expected sqlite:///FILE or postgresql://USER@HOST/DB"
# The URL schemes `store.engine.engine_for` knows how to open.
_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg"})
# `scheme://user:password@` in a string SQLAlchemy could not parse, so it cannot hide it itself.
_USERINFO_PASSWORD = re.compile(r"(//[^:/@]*:)[^@/]*@")


class ConfigError(click.ClickException):
    """A configuration that parsed but cannot work. Exit code 2, as click gives usage errors: the
    command was started wrongly, rather than failing at its work (`ClickException`'s 1)."""

    exit_code = 2


def given_as(name: str) -> str:
    """How the user gave parameter `name` of the running command: `--flag`, or the
    `KCO_SANDBOX_*` variable it came from."""
    context = click.get_current_context(silent=True)
    if context is not None:
        for param in context.command.params:
            if param.name == name and isinstance(param, click.Option):
                source = context.get_parameter_source(name)
                if source is ParameterSource.ENVIRONMENT and isinstance(param.envvar, str):
                    return param.envvar
                return max(param.opts, key=len)
    return "--" + name.replace("_", "-")


def bad_value(name: str, message: str) -> click.BadParameter:
    """`Invalid value for '--flag': message`, naming the flag or variable the value came from."""
    return click.BadParameter(message, param_hint=f"'{given_as(name)}'")


def display_url(url: str) -> str:
    """The database URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return _USERINFO_PASSWORD.sub(r"\1***@", url)


def check_database_url(url: str) -> URL:
    """The parsed URL of a database this program can open, or the reason it cannot.

    A SQLite file needs a folder it can write in (SQLite keeps its journal beside the file);
    SQLite itself would only say "unable to open database file".
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise bad_value(
            "database_url", f"{display_url(url)!r} is not a database URL; {EXPECTED_URL}"
        ) from None
    if parsed.drivername not in _DRIVERS:
        raise bad_value(
            "database_url", f"unsupported database {parsed.drivername!r}; {EXPECTED_URL}"
        )
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        _check_sqlite_file(url, Path(database))
    return parsed


def _check_sqlite_file(url: str, path: Path) -> None:
    folder = path.absolute().parent
    where = f"{given_as('database_url')} {display_url(url)}"
    if not folder.exists():
        raise ConfigError(f"{where}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise ConfigError(f"{where}: {folder} is not a folder")
    if path.is_dir():
        raise ConfigError(f"{where}: {path.absolute()} is a folder, not a database file")
    try:
        # A real write rather than `os.access`, which says yes to root on a read-only file system.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(f"{where}: cannot write in the folder {folder} ({exc.strerror})") from exc


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a failure to open, read or migrate the database at `url` into a `ConfigError`."""
    where = f"{given_as('database_url')} {display_url(url)}"
    try:
        yield
    except DBAPIError as exc:
        reason = _reason(exc.orig or exc, url)
        raise ConfigError(f"{where}: cannot use the database: {reason}") from exc
    except _alembic_error() as exc:  # e.g. a revision newer than this program knows
        raise ConfigError(f"{where}: cannot upgrade the schema: {_reason(exc, url)}") from exc
    except (SQLAlchemyError, ImportError) as exc:
        raise ConfigError(f"{where}: cannot open the database: {_reason(exc, url)}") from exc


def _alembic_error() -> type[Exception]:
    """Alembic's command error, imported only once something has failed: the server starts
    without loading Alembic when the schema is current (`store.migration`)."""
    from alembic.util.exc import CommandError

    return CommandError


def _reason(exc: BaseException, url: str) -> str:
    """The first line of a driver's message (the rest is hints and SQLAlchemy's links)."""
    lines = str(exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    try:
        password = make_url(url).password
    except ArgumentError:
        password = None
    return reason.replace(str(password), "***") if password else reason
