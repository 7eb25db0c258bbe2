"""Start-up with a configuration that cannot work: one or two lines that say why, exit code 2.

Each test runs the real command, as a user would, and checks what it prints: the flag, variable or
file at fault and what is wrong with it, no traceback, no password, and no "listening" line.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.callback_support import clean_env
from tests.live import free_port

MERCHANTS_FILE = "merchants.json"


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`kco-sandbox ARGS...` in `cwd`, on a free port (should it start after all)."""
    if args[0] == "serve" and "--port" not in args:
        args = (*args, "--port", "0")
    return subprocess.run(
        [sys.executable, "-m", "kco_sandbox", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**clean_env(), **(env or {})},
        timeout=30,
        check=False,
    )


def refused(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The error, after checking it is a refusal to start that says `expected`; exit code 2."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "listening" not in result.stdout
    for part in expected:
        assert part in result.stderr
    return result.stderr


def one_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The one line of a refusal that is not about the syntax of a flag (no usage is printed)."""
    lines = refused(result, *expected).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ")
    return lines[0]


def _writable(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


@pytest.fixture
def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this user cannot create files in."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if not _writable(folder):
        return folder
    kernel = Path("/sys")  # root writes in any folder, but not in the kernel's
    if kernel.is_dir() and not _writable(kernel):
        return kernel
    pytest.skip("this user can write in every folder at hand")


# The database


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense", "'nonsense' is not a database URL"),
        ("mysql://x", "unsupported database 'mysql'"),
    ],
)
@pytest.mark.parametrize("command", [["serve"], ["worker"], ["db", "upgrade"]])
def test_a_malformed_database_url(
    tmp_path: Path, command: list[str], url: str, expected: str
) -> None:
    result = run(*command, "--database-url", url, cwd=tmp_path)
    error = refused(result, "Invalid value for '--database-url'", expected)
    assert "expected sqlite:///FILE or postgresql://USER@HOST/DB" in error


def test_a_malformed_database_url_keeps_its_password_hidden(tmp_path: Path) -> None:
    result = run("serve", "--database-url", "postgresql//shop:s3cret@db/kco", cwd=tmp_path)
    refused(result, "'postgresql//shop:***@db/kco' is not a database URL")
    assert "s3cret" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [["serve"], ["worker"], ["db", "upgrade"]])
def test_postgresql_that_cannot_be_reached(tmp_path: Path, command: list[str]) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://shop:s3cret@127.0.0.1:{port}/kco"
    result = run(*command, "--database-url", url, cwd=tmp_path)
    error = one_line(result, "Connection refused")
    assert error.startswith(
        f"Error: --database-url postgresql://shop:***@127.0.0.1:{port}/kco: "
        "cannot use the database: "
    )
    assert "s3cret" not in result.stdout + result.stderr


def test_the_database_url_from_the_environment_is_named_so(tmp_path: Path) -> None:
    url = f"postgresql://shop@127.0.0.1:{free_port()}/kco"
    result = run("serve", cwd=tmp_path, env={"KCO_SANDBOX_DATABASE_URL": url})
    one_line(result, f"Error: KCO_SANDBOX_DATABASE_URL {url}: cannot use the database")


def test_a_sqlite_file_in_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    url = f"sqlite:///{missing / 'kco.db'}"
    result = run("serve", "--database-url", url, cwd=tmp_path)
    one_line(result, f"Error: --database-url {url}: the folder {missing} does not exist")
    assert not missing.exists()


def test_a_sqlite_file_in_a_folder_that_cannot_be_written(
    tmp_path: Path, unwritable_folder: Path
) -> None:
    url = f"sqlite:///{unwritable_folder / 'kco.db'}"
    result = run("serve", "--database-url", url, cwd=tmp_path)
    one_line(result, f"Error: --database-url {url}: cannot write in the folder {unwritable_folder}")


def test_a_file_that_is_not_a_sqlite_database(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("not a database\n" * 100)
    result = run("serve", "--database-url", "sqlite:///notes.db", cwd=tmp_path)
    one_line(result, "Error: --database-url sqlite:///notes.db: cannot use the database: ")


@pytest.fixture
def unmigrated_postgres_url(postgres_url: str) -> Iterator[str]:
    """An empty PostgreSQL database beside the session's, with a password in its URL (the local
    server trusts its clients, so any password is accepted)."""
    url = make_url(postgres_url)
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    empty = f"{url.database}_unmigrated"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{empty}"'))
    try:
        yield url.set(database=empty, password="s3cret").render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{empty}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_postgresql_without_db_upgrade_says_what_to_run(
    tmp_path: Path, unmigrated_postgres_url: str, command: str
) -> None:
    result = run(command, "--database-url", unmigrated_postgres_url, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    shown = make_url(unmigrated_postgres_url).render_as_string(hide_password=True)
    assert result.stderr.strip() == (
        f"Error: --database-url {shown}: the schema is not current; "
        f"run `kco-sandbox db upgrade --database-url {shown}` first"
    )
    assert "s3cret" not in result.stdout + result.stderr


# Where to listen


def test_a_port_in_use_is_refused_before_listening_is_announced(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), cwd=tmp_path)
    one_line(result, f"Error: --port {port}: 127.0.0.1:{port} is already in use")
    assert result.stdout == ""
    assert not (tmp_path / "kco-sandbox.db").exists()  # refused before the database was touched


def test_a_host_that_cannot_be_bound(tmp_path: Path) -> None:
    # 192.0.2.0/24 is reserved for documentation: no machine has that address.
    result = run("serve", "--host", "192.0.2.1", "--port", "8000", cwd=tmp_path)
    one_line(result, "Error: --host 192.0.2.1: cannot listen on 192.0.2.1:8000 (")


def test_a_host_that_does_not_exist(tmp_path: Path) -> None:
    result = run("serve", "--host", "no-such-host.invalid", cwd=tmp_path)
    one_line(result, "Error: --host no-such-host.invalid: unknown host (")


def test_a_port_out_of_range(tmp_path: Path) -> None:
    result = run("serve", "--port", "70000", cwd=tmp_path)
    refused(result, "Invalid value for '--port'", "70000 is not in the range 0<=x<=65535")


# Merchants


def test_a_merchants_file_that_does_not_exist(tmp_path: Path) -> None:
    result = run("serve", "--merchants-file", "missing.json", cwd=tmp_path)
    refused(result, "Invalid value for '--merchants-file'", "'missing.json' does not exist")


def test_a_merchants_file_that_cannot_be_read(tmp_path: Path) -> None:
    merchants = tmp_path / MERCHANTS_FILE
    merchants.write_text("[]")
    merchants.chmod(0)
    if os.access(merchants, os.R_OK):
        pytest.skip("this user reads any file (root)")
    result = run("serve", "--merchants-file", MERCHANTS_FILE, cwd=tmp_path)
    refused(result, "Invalid value for '--merchants-file'", "is not readable")


def test_a_merchants_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / MERCHANTS_FILE).write_bytes(b'[{"username": "caf\xe9"}]')
    result = run("serve", "--merchants-file", MERCHANTS_FILE, cwd=tmp_path)
    one_line(result, f"Error: --merchants-file {MERCHANTS_FILE}: not UTF-8 text")


def test_a_merchants_file_with_invalid_json_names_the_line_and_column(tmp_path: Path) -> None:
    (tmp_path / MERCHANTS_FILE).write_text(
        '[\n  {"username": "a", "password": "k1"}\n  {"username": "b", "password": "k2"}\n]\n'
    )
    result = run("serve", "--merchants-file", MERCHANTS_FILE, cwd=tmp_path)
    assert one_line(result) == (
        f"Error: --merchants-file {MERCHANTS_FILE}: invalid JSON at line 3, column 3: "
        "Expecting ',' delimiter"
    )


def test_a_merchants_file_that_is_not_an_array(tmp_path: Path) -> None:
    (tmp_path / MERCHANTS_FILE).write_text('{"username": "a", "password": "k1"}')
    result = run("serve", "--merchants-file", MERCHANTS_FILE, cwd=tmp_path)
    assert one_line(result) == (
        f"Error: --merchants-file {MERCHANTS_FILE}: expected a JSON array of merchants, "
        "got an object"
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('{"password": "k2"}', 'entry 2: "username" is missing'),
        ('{"username": "b"}', 'entry 2 ("b"): "password" is missing'),
        ('{"username": "b", "password": ""}', 'entry 2 ("b"): "password" must be a non-empty'),
        ('{"username": 7, "password": "k2"}', 'entry 2: "username" must be a non-empty string'),
        ('"b:k2"', "entry 2: expected an object, got a string"),
        (
            '{"username": "b:x", "password": "k2"}',
            'entry 2 ("b:x"): a "username" cannot contain ":"',
        ),
        (
            '{"username": "b", "password": "k2", "markets": "DE"}',
            'entry 2 ("b"): "markets" must be an array',
        ),
    ],
)
def test_a_merchant_entry_without_what_it_needs(tmp_path: Path, entry: str, expected: str) -> None:
    (tmp_path / MERCHANTS_FILE).write_text(f'[{{"username": "a", "password": "k1"}}, {entry}]')
    result = run("serve", "--merchants-file", MERCHANTS_FILE, cwd=tmp_path)
    one_line(result, f"Error: --merchants-file {MERCHANTS_FILE}: {expected}")
    assert "k2" not in result.stderr


def test_an_unknown_market_is_named_with_its_entry(tmp_path: Path) -> None:
    (tmp_path / MERCHANTS_FILE).write_text(
        '[{"username": "de-shop", "password": "k1", "markets": ["DE", "XX"]}]'
    )
    result = run("serve", "--merchants-file", MERCHANTS_FILE, cwd=tmp_path)
    one_line(
        result,
        f'Error: --merchants-file {MERCHANTS_FILE}: entry 1 ("de-shop"): unknown market "XX"; '
        "the markets are AT, AU, BE,",
    )


def test_a_username_given_twice(tmp_path: Path) -> None:
    (tmp_path / MERCHANTS_FILE).write_text('[{"username": "shop", "password": "k1"}]')
    both = run("serve", "--merchant", "shop:k2", "--merchants-file", MERCHANTS_FILE, cwd=tmp_path)
    assert one_line(both) == (
        f'Error: merchant username "shop" is given twice by --merchant and by {MERCHANTS_FILE} '
        "entry 1"
    )
    flags = run("serve", "--merchant", "shop:k1", "--merchant", "shop:k2", cwd=tmp_path)
    assert one_line(flags) == 'Error: merchant username "shop" is given twice by --merchant'
    assert "k1" not in both.stderr + flags.stderr


@pytest.mark.parametrize(
    ("value", "shown"), [("no-password", "'no-password'"), (":s3cret", "':***'")]
)
def test_a_malformed_merchant_flag(tmp_path: Path, value: str, shown: str) -> None:
    result = run("serve", "--merchant", value, cwd=tmp_path)
    refused(
        result,
        f"Error: Invalid value for '--merchant': expected USER:PASSWORD[:NAME], got {shown}",
    )
    assert "s3cret" not in result.stderr


# Schedules


def test_a_malformed_schedule(tmp_path: Path) -> None:
    result = run("serve", "--push-schedule", "x", cwd=tmp_path)
    refused(
        result,
        "Error: Invalid value for '--push-schedule': expected comma-separated seconds >= 0, "
        "got 'x'",
    )


def test_a_malformed_schedule_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    result = run("serve", cwd=tmp_path, env={"KCO_SANDBOX_NOTIFICATION_SCHEDULE": "60,-1"})
    refused(result, "Error: Invalid value for 'KCO_SANDBOX_NOTIFICATION_SCHEDULE': expected")


# The shared profile


def test_the_shared_profile_needs_a_public_url(tmp_path: Path) -> None:
    result = run("serve", "--profile", "shared", cwd=tmp_path)
    one_line(result, "Error: --profile shared: the shared profile needs --public-url")


def test_the_profile_from_the_environment_is_named_so(tmp_path: Path) -> None:
    result = run("serve", cwd=tmp_path, env={"KCO_SANDBOX_PROFILE": "shared"})
    one_line(result, "Error: KCO_SANDBOX_PROFILE shared: the shared profile needs --public-url")


def test_an_unknown_profile(tmp_path: Path) -> None:
    result = run("serve", "--profile", "public", cwd=tmp_path)
    refused(result, "Invalid value for '--profile'", "'public' is not one of 'local', 'shared'")


def test_a_malformed_callback_host_pattern(tmp_path: Path) -> None:
    result = run("serve", "--callback-host", "shop.example:99999", cwd=tmp_path)
    refused(result, "Invalid value for '--callback-host'", "the port must be a number")


def test_a_malformed_allowed_host(tmp_path: Path) -> None:
    result = run("serve", "--allowed-host", "ci.example/path", cwd=tmp_path)
    refused(result, "Invalid value for '--allowed-host'", "expected a host name like")


def test_the_worker_checks_callback_host_patterns_too(tmp_path: Path) -> None:
    result = run("worker", "--callback-host", "*.*", cwd=tmp_path)
    refused(result, "Invalid value for '--callback-host'")
