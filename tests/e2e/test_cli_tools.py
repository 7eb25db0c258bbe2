"""The commands beside `serve` as a user runs them: `clock`, `orders show|list`, `callbacks list`.

The server listens on a port other than 8000, chosen by `KCO_SANDBOX_PORT` alone, and keeps its
data in the default `kco-sandbox.db` of its folder. The commands run in that folder with the same
environment and neither `--url` nor `--database-url`: they must find the server and its database
the way a user who exported the variable once expects.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from tests.callback_support import OM, StampedReceiver, clean_env, complete_order, wait_for
from tests.factories import make_order
from tests.live import free_port

API_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")  # 2020-08-21T08:47:39.878Z
PENDING_ACCEPT_2 = "x+pend-accept-02@example.com"  # accepted two minutes after the purchase
READ_COMMANDS = [
    ("orders", "show", "some-order"),
    ("orders", "list"),
    ("callbacks", "list"),
    ("clock", "show"),  # takes the first stored merchant's credentials
    ("clock", "advance", "1m"),
]


def kco(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`kco-sandbox ARGS...` in `cwd`, with no `KCO_SANDBOX_*` variables but those in `env`."""
    return subprocess.run(
        [sys.executable, "-m", "kco_sandbox", *args],
        cwd=cwd,
        env=clean_env() | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass(frozen=True)
class Beside:
    """A running server, and how to run commands beside it."""

    folder: Path
    env: dict[str, str]
    url: str
    auth: tuple[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return kco(*args, cwd=self.folder, env=self.env)

    def json(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=60)


@pytest.fixture
def beside(tmp_path: Path) -> Iterator[Beside]:
    """`kco-sandbox serve` with no flags and `KCO_SANDBOX_PORT` set: its demo merchant signs in."""
    port = free_port()
    assert port != 8000
    env = {"KCO_SANDBOX_PORT": str(port)}
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "kco_sandbox", "serve", "--log-level", "warning"],
            cwd=tmp_path,
            env=clean_env() | env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: answers(url) or server.poll() is not None, timeout=30), log
        assert server.poll() is None, log.read_text()
        printed = re.search(r"username (\S+) password (\S+)", log.read_text())
        assert printed is not None, log.read_text()
        user, password = printed.groups()
        yield Beside(tmp_path, env, url, (user, password))
    finally:
        server.terminate()
        server.wait(timeout=15)


def answers(url: str) -> bool:
    try:
        httpx.get(url + "/kco/checkout.bootstrap.js", timeout=1)
    except httpx.TransportError:
        return False
    return True


@pytest.fixture
def receiver() -> Iterator[StampedReceiver]:
    with StampedReceiver().running() as running:
        yield running


def test_the_clock_commands_find_the_server_on_the_port_it_was_given(beside: Beside) -> None:
    assert beside.json("clock", "show")["offset_seconds"] == 0
    assert beside.json("clock", "advance", "90s")["attempted"] == 0
    assert beside.json("clock", "show")["offset_seconds"] == 90


def test_orders_show_derives_every_status_and_time_as_the_api_does(
    beside: Beside, receiver: StampedReceiver
) -> None:
    with beside.client() as client:
        order_id = complete_order(client, receiver.url, email=PENDING_ACCEPT_2)
        before = beside.json("orders", "show", order_id)["order_management"]
        assert before["fraud_status"] == client.get(f"{OM}/{order_id}").json()["fraud_status"]
        assert before["fraud_status"] == "PENDING"

        advanced = beside.json("clock", "advance", "2h")  # the decision fell due after 2 minutes
        assert advanced["attempted"] >= 2  # the notification and the pushes
        assert wait_for(lambda: len(receiver.calls("/notify")) == 1, timeout=10)
        om = client.get(f"{OM}/{order_id}").json()
        checkout = client.get(f"/checkout/v3/orders/{order_id}").json()
        platform_now = client.get("/_sandbox/clock").json()["now"]
        shown = beside.json("orders", "show", order_id)

    managed = shown["order_management"]
    assert (managed["fraud_status"], managed["status"]) == (om["fraud_status"], om["status"])
    assert managed["fraud_status"] == "ACCEPTED"
    # Every value shown from Order Management is the API's, amounts and times included.
    assert {name: om[name] for name in managed if name in om} == {
        name: value for name, value in managed.items() if name in om
    }
    assert {"created_at", "expires_at", "remaining_authorized_amount"} <= set(managed)
    for name in ("status", "started_at", "last_modified_at", "completed_at"):
        assert shown["checkout_status" if name == "status" else name] == checkout[name]
    assert (shown["aborted"], shown["expired"]) == (False, False)
    # The platform's time, not the wall clock's: two hours ahead.
    assert API_TIME.match(shown["platform_time"])
    behind = api_time(shown["platform_time"]) - api_time(platform_now)
    assert timedelta(0) <= behind < timedelta(minutes=1)
    assert all(API_TIME.match(event["at"]) for event in shown["events"])
    assert "notification.attempt" in [event["kind"] for event in shown["events"]]
    push = next(c for c in shown["callbacks"] if c["kind"] == "push")
    assert API_TIME.match(push["next_attempt_at"])

    listed = beside.run("callbacks", "list", "--order", order_id)
    assert listed.returncode == 0, listed.stderr
    next_at = re.search(r" push .* next=(\S+)", listed.stdout)
    assert next_at is not None, listed.stdout
    assert API_TIME.match(next_at.group(1)), listed.stdout


def api_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")


def test_orders_list_shows_the_newest_first_with_the_api_statuses(
    beside: Beside, receiver: StampedReceiver
) -> None:
    with beside.client() as client:
        created = client.post("/checkout/v3/orders", json=make_order())
        assert created.status_code == 201, created.text
        open_id = created.json()["order_id"]
        pending_id = complete_order(client, receiver.url, email=PENDING_ACCEPT_2)
        accepted_id = complete_order(client, receiver.url)
        ids = [accepted_id, pending_id, open_id]  # newest first
        started = [client.get(f"/checkout/v3/orders/{i}").json()["started_at"] for i in ids]

    listed = beside.run("orders", "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows = [line.split() for line in listed.stdout.splitlines()]
    assert header[:5] == ["ORDER_ID", "MERCHANT", "CHECKOUT", "OM", "FRAUD"]
    assert header[5:] == ["AMOUNT", "CURRENCY", "CREATED"]
    assert [row[0] for row in rows] == ids
    assert [row[1] for row in rows] == [beside.auth[0]] * 3
    assert [row[2:5] for row in rows] == [
        ["checkout_complete", "AUTHORIZED", "ACCEPTED"],
        ["checkout_complete", "AUTHORIZED", "PENDING"],
        ["checkout_incomplete", "-", "-"],
    ]
    assert [row[5:] for row in rows] == [["50000", "SEK", at] for at in started]

    limited = beside.run("orders", "list", "--limit", "2")
    assert [line.split()[0] for line in limited.stdout.splitlines()[1:]] == [
        accepted_id,
        pending_id,
    ]
    assert beside.run("orders", "list", "--limit", "0").returncode == 2


@pytest.mark.parametrize(
    ("env", "args", "tried"),
    [
        ({"KCO_SANDBOX_PORT": "{port}"}, (), "http://127.0.0.1:{port}"),
        (
            {"KCO_SANDBOX_HOST": "0.0.0.0", "KCO_SANDBOX_PORT": "{port}"},
            (),
            "http://127.0.0.1:{port}",
        ),
        ({}, ("--host", "::", "--port", "{port}"), "http://[::1]:{port}"),
        (
            {"KCO_SANDBOX_URL": "http://127.0.0.1:{port}"},
            ("--port", "1"),
            "http://127.0.0.1:{port}",
        ),
        ({}, ("--url", "http://127.0.0.1:{port}/"), "http://127.0.0.1:{port}"),
    ],
)
def test_a_server_that_is_not_there_is_named(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], tried: str
) -> None:
    port = str(free_port())
    done = kco(
        "clock",
        "show",
        "--merchant",
        "user:password",
        *(arg.format(port=port) for arg in args),
        cwd=tmp_path,
        env={name: value.format(port=port) for name, value in env.items()},
    )
    assert done.returncode == 1
    assert f"cannot reach the server at {tried.format(port=port)}: " in done.stderr
    if "[::1]" not in tried:  # a machine without IPv6 answers otherwise
        assert done.stderr.rstrip().endswith(": connection refused"), done.stderr


@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_a_command_that_only_reads_creates_no_database(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    done = kco(*command, cwd=tmp_path)
    assert done.returncode == 1
    assert "no database at sqlite:///kco-sandbox.db: " in done.stderr
    elsewhere = kco(*command, "--database-url", "sqlite:///elsewhere.db", cwd=tmp_path)
    assert elsewhere.returncode == 1
    assert "no database at sqlite:///elsewhere.db: " in elsewhere.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_command_that_only_reads_does_not_migrate_an_old_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE something_else (id INTEGER)")
    done = kco("orders", "list", "--database-url", f"sqlite:///{path}", cwd=tmp_path)
    assert done.returncode == 1
    assert f"the database at sqlite:///{path} does not have the current schema" in done.stderr
    assert "kco-sandbox db upgrade" in done.stderr
    with sqlite3.connect(path) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == [("something_else",)]


def test_postgresql_is_read_but_never_migrated(tmp_path: Path, postgres_url: str) -> None:
    url = make_url(postgres_url)
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"{url.database}_cli_tools"
    database = url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        empty = kco("callbacks", "list", "--database-url", database, cwd=tmp_path)
        assert empty.returncode == 1
        assert "does not have the current schema" in empty.stderr
        engine = create_engine(make_url(database).set(drivername="postgresql+psycopg"))
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
        upgraded = kco("db", "upgrade", "--database-url", database, cwd=tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
        listed = kco("orders", "list", "--database-url", database, cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.startswith("no orders in postgresql")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    gone = kco("orders", "list", "--database-url", database, cwd=tmp_path)
    assert gone.returncode == 1
    assert f"cannot read the database at {url.set(database=name)}" in gone.stderr
