"""Two `kco-sandbox worker` processes over hundreds of due callbacks: each is sent exactly once.

A server with `--no-worker` completes the orders (each queues its push in the outbox) and stops;
then two workers start at once on the same database, and the platform clock is moved by writing
its stored offset (`platform_state`, which every worker re-reads each round) past the first push.
The receiver must see exactly one push per order, the database exactly one attempt per callback,
and both workers must stop with exit status 0 on SIGTERM. On PostgreSQL the workers' claims skip
each other's locked rows (`FOR UPDATE SKIP LOCKED`); on SQLite the write lock serialises them.
"""

from __future__ import annotations

import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from kco_sandbox.services.delivery import OFFSET_KEY
from kco_sandbox.store import Store
from tests.callback_support import AUTH, StampedReceiver, complete_order, start_worker, wait_for
from tests.factories import MERCHANT
from tests.live import LiveServer

ORDERS = 200


def clear_callbacks(store: Store) -> None:
    """No callbacks, attempts or clock offset left by other tests of the session's database."""
    with store.engine.begin() as conn:
        for table in ("callback_attempts", "callbacks", "platform_state"):
            conn.execute(text(f"DELETE FROM {table}"))


def completed_orders(folder: Path, database_url: str, receiver_url: str) -> list[str]:
    server = LiveServer(folder, merchants=[MERCHANT], database_url=database_url)
    server.extra_args = ["--no-worker"]
    server.start()
    try:
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=60) as client:

            def one(_: int) -> str:
                return complete_order(client, receiver_url)

            with ThreadPoolExecutor(max_workers=4) as pool:
                order_ids = list(pool.map(one, range(ORDERS)))
        assert server.terminate() == 0
    finally:
        server.stop()
    return order_ids


def attempts_per_callback(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.callback_id, COUNT(a.attempt_id) FROM callbacks c"
                " LEFT JOIN callback_attempts a ON a.callback_id = c.callback_id"
                " GROUP BY c.callback_id"
            )
        ).all()
    return {row[0]: row[1] for row in rows}


def stop(worker: subprocess.Popen[str]) -> int:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    return worker.wait(timeout=20)


def run_two_workers(folder: Path, database_url: str) -> None:
    store = Store.for_url(database_url)  # the schema, as `kco-sandbox db upgrade` makes it
    clear_callbacks(store)
    # Each worker sends one push at a time; 10 ms an answer makes their sending overlap.
    with StampedReceiver(delay=0.01).running() as receiver:
        order_ids = completed_orders(folder, database_url, receiver.url)
        assert len(set(order_ids)) == ORDERS
        outbox = store.outbox
        assert outbox.due_count(datetime.now(UTC)) == 0  # not before +120 s
        workers = [
            start_worker(database_url, folder / f"worker-{n}.log", "--poll", "0.2") for n in (1, 2)
        ]
        try:
            time.sleep(0.5)  # both running and idle: nothing is due yet
            assert receiver.calls("/push") == []
            store.state.set(OFFSET_KEY, "130.0")  # past every first push (due at +120 s)

            def all_sent() -> bool:
                per_callback = attempts_per_callback(store)
                return len(per_callback) == ORDERS and min(per_callback.values()) >= 1

            assert wait_for(all_sent, timeout=30, step=0.1), attempts_per_callback(store)
            time.sleep(1.0)  # five more rounds of each worker: nothing may be sent twice
            per_order = receiver.per_order("/push")
            assert set(per_order) == set(order_ids)
            assert set(per_order.values()) == {1}, per_order.most_common(3)
            per_callback = attempts_per_callback(store)
            assert len(per_callback) == ORDERS
            assert set(per_callback.values()) == {1}
            listed = outbox.list_callbacks()
            assert {(c["status"], c["attempts"]) for c in listed} == {("pending", 1)}
            # Each worker sends one at a time; two at once means both took part.
            assert receiver.peak_in_flight == 2
        finally:
            codes = [stop(worker) for worker in workers]
            store.close()
        assert codes == [0, 0], [(folder / f"worker-{n}.log").read_text() for n in (1, 2)]
        for n in (1, 2):
            assert "kco-sandbox worker stopped" in (folder / f"worker-{n}.log").read_text()


@pytest.mark.postgres
def test_two_workers_on_postgresql_send_each_push_once(tmp_path: Path, postgres_url: str) -> None:
    run_two_workers(tmp_path, postgres_url)


def test_two_workers_on_sqlite_send_each_push_once(tmp_path: Path) -> None:
    run_two_workers(tmp_path, f"sqlite:///{tmp_path / 'workers.db'}")
