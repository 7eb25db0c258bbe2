"""Many concurrent writes to one Order Management order queue instead of giving up.

Real threads call the real service over the real store, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from kco_sandbox.domain.errors import CaptureNotAllowed, Conflict
from kco_sandbox.domain.order_management.order import Capture, CaptureRequest
from kco_sandbox.services.order_locks import OrderLocks
from kco_sandbox.store import Store
from tests.factories import MERCHANT
from tests.store.test_idempotency import AMOUNT, opened, service

CAPTURES = 300
WAIT = 10.0  # seconds: far more than any step here takes, unless it waits for a lock forever


def test_300_concurrent_captures_of_one_all_succeed_and_never_over_capture(store: Store) -> None:
    order_id, management = opened(store), service(store)
    assert AMOUNT >= CAPTURES  # every capture fits: none may be refused, none may give up

    def capture(_: int) -> str:
        try:
            made = management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=1))
        except (CaptureNotAllowed, Conflict) as exc:
            return type(exc).__name__
        return "captured" if isinstance(made, Capture) else repr(made)

    with ThreadPoolExecutor(max_workers=40) as pool:  # anyio's default thread count
        outcomes = Counter(pool.map(capture, range(CAPTURES)))
    assert outcomes == {"captured": CAPTURES}
    order = management.get_order(MERCHANT, order_id)
    assert sum(c.captured_amount for c in order.captures) == CAPTURES
    assert len(order.captures) == CAPTURES


def test_more_captures_than_the_authorization_are_refused_not_lost(store: Store) -> None:
    order_id, management = opened(store), service(store)
    share = AMOUNT // 4

    def capture(_: int) -> str:
        try:
            management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=share))
        except CaptureNotAllowed:
            return "refused"
        return "captured"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = Counter(pool.map(capture, range(40)))
    assert outcomes == {"captured": 4, "refused": 36}
    captures = management.get_order(MERCHANT, order_id).captures
    assert sum(c.captured_amount for c in captures) == 4 * share


def test_an_order_lock_exists_only_while_it_is_held_or_awaited() -> None:
    locks = OrderLocks()
    with locks.hold("a"), locks.hold("b"):
        assert len(locks) == 2
    assert len(locks) == 0


def test_on_an_event_loop_an_order_lock_held_elsewhere_is_not_waited_for() -> None:
    locks = OrderLocks()
    taken, leave = threading.Event(), threading.Event()

    def holder() -> None:
        with locks.hold("a"):
            taken.set()
            leave.wait(WAIT)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert taken.wait(WAIT)

        async def on_the_loop() -> str:
            with locks.hold("a"):  # would wait for `holder` (until WAIT) off an event loop
                return "ran"

        started = time.monotonic()
        assert asyncio.run(on_the_loop()) == "ran"
        assert time.monotonic() - started < WAIT / 2
    finally:
        leave.set()
        thread.join(WAIT)
    assert len(locks) == 0


def test_a_capture_holding_the_writer_on_the_event_loop_does_not_wait_for_a_queued_one(
    store: Store,
) -> None:
    """The event loop runs a write itself when it finds the SQLite writer free (it then holds it,
    `AppContext.write_local`). A capture of the same order in a worker thread may hold the order's
    lock while it waits for that writer: the loop must not wait for the lock in turn."""
    if not store.reads_are_local:
        pytest.skip("only SQLite's writer is held by the event loop")
    order_id, management = opened(store), service(store)
    one = CaptureRequest(captured_amount=1)
    outcomes: list[object] = []

    def scenario() -> None:
        with store.hold_writer() as held:
            assert held
            queued = threading.Thread(
                target=lambda: outcomes.append(management.capture(MERCHANT, order_id, one))
            )
            queued.start()
            deadline = time.monotonic() + WAIT
            while store.db.writer is not None and store.db.writer.queued == 0:
                assert time.monotonic() < deadline, "the worker never queued for the writer"
                time.sleep(0.001)

            async def on_the_loop() -> object:
                return management.capture(MERCHANT, order_id, one)

            outcomes.append(asyncio.run(on_the_loop()))
        queued.join(WAIT)

    runner = threading.Thread(target=scenario, daemon=True)  # a deadlock must not hang the run
    runner.start()
    runner.join(WAIT)
    assert not runner.is_alive(), "the capture on the event loop waited for the worker's lock"
    assert [type(outcome) for outcome in outcomes] == [Capture, Capture]
    order = management.get_order(MERCHANT, order_id)
    assert sum(c.captured_amount for c in order.captures) == 2
