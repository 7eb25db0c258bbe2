"""Where a write runs: `AppContext.write_local` stays on the caller's thread (the event loop)
when the SQLite writer is free, and goes to a worker thread when it is not, or on PostgreSQL.

Through the real app's context over the real store, on both engines.
"""

from __future__ import annotations

import sqlite3
import threading

import anyio
from starlette.testclient import TestClient

from kco_sandbox.store import Store
from kco_sandbox.web.context import AppContext
from tests.factories import MERCHANT, make_order

WAIT = 10.0


def context(client: TestClient) -> AppContext:
    ctx: AppContext = client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


def test_a_local_write_runs_here_when_the_writer_is_free(client: TestClient, store: Store) -> None:
    ctx = context(client)

    def create() -> tuple[int, str]:
        return threading.get_ident(), ctx.checkout.create_order(MERCHANT, make_order()).order_id

    ran_on, order_id = anyio.run(ctx.write_local, create)
    assert (ran_on == threading.get_ident()) == store.reads_are_local  # SQLite: here
    assert ctx.checkout.read_order(MERCHANT, order_id).order_id == order_id
    assert client.get(f"/checkout/v3/orders/{order_id}").status_code == 200


def test_a_local_write_goes_to_a_worker_thread_while_another_thread_writes(
    client: TestClient, store: Store
) -> None:
    ctx = context(client)
    inside, leave = threading.Event(), threading.Event()

    def busy() -> None:
        with store.db.write():
            inside.set()
            leave.wait(WAIT)

    writing = threading.Thread(target=busy)
    writing.start()
    try:
        assert inside.wait(WAIT)
        ran_on = anyio.run(ctx.write_local, threading.get_ident)
    finally:
        leave.set()
        writing.join(WAIT)
    assert ran_on != threading.get_ident()


def test_a_refused_local_write_leaves_the_database_free_for_other_processes(
    client: TestClient, store: Store
) -> None:
    refused = client.post("/checkout/v3/orders", json=make_order(order_amount="many"))
    assert refused.status_code == 400
    database = store.engine.url.database
    if not store.reads_are_local or database is None:
        return  # PostgreSQL: nothing was held
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # "database is locked" if the refused write kept it
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert client.post("/checkout/v3/orders", json=make_order()).status_code == 201
