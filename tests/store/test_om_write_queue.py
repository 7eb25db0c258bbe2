"""Many concurrent writes to one Order Management order queue instead of giving up.

Real threads call the real service over the real store, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from kco_sandbox.domain.errors import CaptureNotAllowed, Conflict
from kco_sandbox.domain.order_management.order import Capture, CaptureRequest
from kco_sandbox.services.order_locks import OrderLocks
from kco_sandbox.store import Store
from tests.factories import MERCHANT
from tests.store.test_idempotency import AMOUNT, opened, service

CAPTURES = 300


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
