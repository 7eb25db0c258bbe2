"""`kco-sandbox serve --workers 2`: two server processes on one port, as a user starts them.

On SQLite and on PostgreSQL: both processes answer, each connection to one of them (told apart
through `/proc`, see `process_support`); one idempotency key sent to both at once makes one
capture; a push goes out once; a clock moved through one process is moved in the other at once.
Then the supervision: a killed server process is replaced, SIGTERM stops them all, a number of
processes out of range is refused, and a server process that cannot start stops `serve`.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from sqlalchemy import select

from kco_sandbox.cli.supervisor import supervise
from kco_sandbox.clock import SystemClock
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store, tables
from tests.callback_support import clean_env, merchant_urls, wait_for
from tests.e2e.process_support import (
    Connection,
    alive,
    one_on_each,
    require_proc,
    wait_for_server_processes,
)
from tests.factories import MERCHANT, make_order
from tests.live import LiveServer
from tests.receiver import Receiver

AUTH = "Basic " + base64.b64encode(f"{MERCHANT.merchant_id}:{MERCHANT.api_key}".encode()).decode()
DAY = 86400


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'live.db'}"
    url: str = request.getfixturevalue("postgres_url")
    store = Store.for_url(url)  # the schema, as `kco-sandbox db upgrade` makes it
    with store.engine.begin() as conn:  # and nothing another test left (clocks, callbacks)
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(table.delete())
    store.close()
    return url


def start(folder: Path, database_url: str, *extra: str) -> tuple[LiveServer, list[int]]:
    """`serve --workers 2` and its two server processes, once both accept connections."""
    require_proc()
    server = LiveServer(folder, merchants=[MERCHANT], database_url=database_url)
    server.extra_args = ["--workers", "2", *extra]
    server.start(timeout=60)
    assert wait_for(lambda: "server processes: 2" in server.output(), timeout=60)
    assert server.process is not None
    pids = wait_for_server_processes(server.process.pid, server.port, 2)
    assert len(pids) == 2, server.output()
    return server, pids


@pytest.fixture
def two(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveServer, list[int]]]:
    server, pids = start(tmp_path, database_url)
    try:
        yield server, pids
    finally:
        server.stop()


def completed_order(connection: Connection, receiver_url: str | None = None) -> str:
    urls = merchant_urls(receiver_url) if receiver_url else make_order()["merchant_urls"]
    status, _, created = connection.call(
        "POST", "/checkout/v3/orders", make_order(merchant_urls=urls)
    )
    assert status == 201, created
    order_id: str = created["order_id"]
    status, _, done = connection.call("POST", f"/_sandbox/orders/{order_id}/complete", {})
    assert status == 200, done
    return order_id


def at_once(
    connections: list[Connection],
    method: str,
    path: str,
    body: object,
    headers: dict[str, str] | None = None,
) -> list[tuple[int, dict[str, str]]]:
    """The same request sent on each connection at the same moment; each status and headers."""
    barrier = threading.Barrier(len(connections))
    answers: list[tuple[int, dict[str, str]]] = [(0, {})] * len(connections)

    def send(n: int) -> None:
        barrier.wait()
        status, got, _ = connections[n].call(method, path, body, headers)
        answers[n] = (status, got)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(connections))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_server_processes_answer_on_one_port(two: tuple[LiveServer, list[int]]) -> None:
    server, pids = two
    shown = re.search(r"server processes: 2 \(pids (\d+), (\d+)\)", server.output())
    assert shown is not None
    assert sorted(map(int, shown.groups())) == pids
    with one_on_each(server.port, pids) as connections:
        for connection in connections.values():
            status, _, health = connection.call("GET", "/_sandbox/health")
            # Each reports the parent's delivery worker, which runs.
            assert (status, health["status"], health["worker"]) == (200, "ok", "alive")


def test_one_idempotency_key_sent_to_both_processes_captures_once(
    two: tuple[LiveServer, list[int]],
) -> None:
    server, pids = two
    with one_on_each(server.port, pids, AUTH) as connections:
        first, second = connections.values()
        order_id = completed_order(first)
        path = f"/ordermanagement/v1/orders/{order_id}/captures"
        for n in range(10):
            headers = {"Klarna-Idempotency-Key": f"capture-{n}"}
            answers = at_once([first, second], "POST", path, {"captured_amount": 100}, headers)
            assert [status for status, _ in answers] == [201, 201]
            first_id, second_id = (got.get("Capture-Id") for _, got in answers)
            assert first_id is not None
            assert first_id == second_id  # the second answers the first's capture
        status, _, order = second.call("GET", f"/ordermanagement/v1/orders/{order_id}")
    assert status == 200
    assert (len(order["captures"]), order["captured_amount"]) == (10, 1000)


def attempts_per_callback(database_url: str, order_ids: list[str]) -> Counter[str]:
    store = Store.for_url(database_url, migrate=False)
    try:
        attempts = tables.callback_attempts
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(attempts.c.order_id).where(attempts.c.order_id.in_(order_ids))
            ).all()
    finally:
        store.close()
    return Counter(str(row[0]) for row in rows)


def test_each_push_goes_out_once_with_two_processes(tmp_path: Path, database_url: str) -> None:
    # The first push 1 s after the purchase (the parent's delivery worker sends it on real
    # time), the next an hour later (sent when a server process moves the clock).
    with Receiver().running() as receiver:
        server, pids = start(tmp_path, database_url, "--push-schedule", "1,3600")
        try:
            with one_on_each(server.port, pids, AUTH) as connections:
                first, second = connections.values()
                order_ids = [
                    completed_order((first, second)[n % 2], receiver.url) for n in range(8)
                ]

                def pushed() -> Counter[str]:
                    return Counter(r.path.split("order=")[1] for r in receiver.calls("/push"))

                assert wait_for(lambda: sum(pushed().values()) >= 8, timeout=30)
                time.sleep(1.5)  # rounds enough for a second send, were there one
                assert pushed() == Counter(dict.fromkeys(order_ids, 1))
                status, _, moved = second.call("POST", "/_sandbox/clock/advance", {"seconds": 3600})
                assert status == 200, moved
                assert wait_for(lambda: sum(pushed().values()) >= 16, timeout=30)
                time.sleep(1.5)
                assert pushed() == Counter(dict.fromkeys(order_ids, 2))
        finally:
            server.stop()
    assert attempts_per_callback(database_url, order_ids) == Counter(dict.fromkeys(order_ids, 2))


def test_a_clock_moved_through_one_process_is_moved_in_the_other(
    two: tuple[LiveServer, list[int]],
) -> None:
    server, pids = two
    with one_on_each(server.port, pids, AUTH) as connections:
        first, second = connections.values()
        order_id = completed_order(first)
        _, _, before = second.call("GET", "/_sandbox/clock")
        status, _, _ = first.call("POST", "/_sandbox/clock/advance", {"seconds": 29 * DAY})
        assert status == 200
        _, _, after = second.call("GET", "/_sandbox/clock")
        assert after["offset_seconds"] == before["offset_seconds"] + 29 * DAY
        # The other process judges the order on the moved clock: its authorization (28 days)
        # has expired.
        path = f"/ordermanagement/v1/orders/{order_id}/captures"
        status, _, refused = second.call("POST", path, {"captured_amount": 100})
        assert (status, refused["error_code"]) == (403, "CAPTURE_NOT_ALLOWED"), refused

        # Moves through both processes at once all count.
        def advance(connection: Connection) -> None:
            for _ in range(5):
                assert connection.call("POST", "/_sandbox/clock/advance", {"seconds": 60})[0] == 200

        threads = [threading.Thread(target=advance, args=(c,)) for c in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for connection in (first, second):
            _, _, now = connection.call("GET", "/_sandbox/clock")
            assert now["offset_seconds"] == after["offset_seconds"] + 600


def test_a_killed_server_process_is_replaced_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    server, pids = start(tmp_path, f"sqlite:///{tmp_path / 'live.db'}")
    assert server.process is not None
    try:
        os.kill(pids[0], signal.SIGKILL)
        assert wait_for(lambda: not alive(pids[0]), timeout=10)

        def replacement() -> list[int]:
            assert server.process is not None
            now = wait_for_server_processes(server.process.pid, server.port, 2, timeout=1)
            return [pid for pid in now if pid not in pids]

        assert wait_for(lambda: len(replacement()) == 1, timeout=60), server.output()
        replaced = sorted([pids[1], *replacement()])
        assert f"(pid {pids[0]}) ended (killed by SIGKILL); starting it again" in server.output()
        with one_on_each(server.port, replaced) as connections:  # the new one answers too
            for connection in connections.values():
                assert connection.call("GET", "/_sandbox/health")[0] == 200
        assert server.terminate() == 0
        assert not [pid for pid in replaced if alive(pid)]
        assert "kco-sandbox stopped" in server.output()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--workers", "0"], {}, "'--workers'"),
        (["--workers", "65"], {}, "'--workers'"),
        ([], {"KCO_SANDBOX_WORKERS": "many"}, "KCO_SANDBOX_WORKERS"),
    ],
)
def test_the_number_of_server_processes_is_1_to_64(
    tmp_path: Path, args: list[str], env: dict[str, str], named: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kco_sandbox", "serve", "--port", "0", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env() | env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Invalid value for" in done.stderr, done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "kco-sandbox.db").exists()  # stopped before opening anything


def test_a_server_process_that_cannot_start_stops_serve(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The parent's database is fine; the server processes are given one they cannot open.
    store = Store.for_url(f"sqlite:///{tmp_path / 'parent.db'}")
    missing = f"sqlite:///{tmp_path / 'no-such-folder' / 'kco.db'}"
    settings = Settings(database_url=missing, workers=2, worker=False, log_level="warning")
    sock = socket.create_server(("127.0.0.1", 0))
    before = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(click.ClickException, match=r"server process \d of 2 could not start"):
            supervise(settings, store, SystemClock(), [MERCHANT], [sock], lambda _: None)
    finally:
        sock.close()
        store.close()
    assert signal.getsignal(signal.SIGTERM) == before  # the pytest process's own, again
    assert "unable to open database file" in capfd.readouterr().err
