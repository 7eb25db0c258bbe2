"""Threads for requests that may wait on a merchant's own shop, a few per merchant.

A hosted checkout post or a headless purchase (`/_sandbox/orders/{id}/complete`) may call the
merchant's validation, address or shipping URL and wait seconds for it. Run on anyio's shared
thread pool, forty such waits of one slow shop would hold every thread the API has, and every
other merchant's create would wait with them. So these calls run under a limiter of their
merchant's own (`--merchant-callback-slots` threads at once): a request beyond it waits for one
of its merchant's threads without holding any thread at all, and no other merchant notices.

A limiter belongs to one event loop, so each loop keeps its own table; the table holds one
limiter per merchant that has called, a number bounded by the configured merchants.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from anyio import CapacityLimiter
from anyio.lowlevel import RunVar

from kco_sandbox.web.context import WRITE_THREADS

_limiters: RunVar[dict[str, CapacityLimiter]] = RunVar("kco_merchant_threads")


def limiter_for(merchant_id: str, slots: int) -> CapacityLimiter:
    """This event loop's limiter of `merchant_id`, made on first use."""
    try:
        table = _limiters.get()
    except LookupError:
        table = {}
        _limiters.set(table)
    found = table.get(merchant_id)
    if found is None:
        found = table[merchant_id] = CapacityLimiter(slots)
    return found


@contextmanager
def on_merchant_threads(merchant_id: str, slots: int) -> Iterator[None]:
    """Within the block, `AppContext.write` runs on `merchant_id`'s own threads."""
    token = WRITE_THREADS.set(limiter_for(merchant_id, slots))
    try:
        yield
    finally:
        WRITE_THREADS.reset(token)
