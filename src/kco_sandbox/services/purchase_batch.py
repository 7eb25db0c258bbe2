"""`Batch`: the steps of a headless purchase (`PurchaseService.complete`) worked in memory and
written once.

The hosted page posts one step at a time, and each step is saved at once. `complete` runs the
same steps in a row within one request; saving each one would cost four write transactions and
five reads of an order that nobody else is acting on. Inside a batch a step's save keeps the
record in memory, and the next step's load takes it from there. The record is written:
- before a merchant callback, with the order's lock, and again after it, without: the order is
  locked in the database while the shop is called, as for the hosted page;
- when the purchase completes, in the completing transaction, checked against the version last
  written (`stored_version`), so a change made meanwhile by anyone else still wins;
- when a step fails, so that what the steps did up to there is kept, as the page keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from kco_sandbox.domain.checkout.record import CheckoutRecord


@dataclass(slots=True)
class Batch:
    order_id: str
    stored_version: int  # the version the database holds
    latest: CheckoutRecord  # the steps' record so far
    writing: bool = False  # saves go to the database now (around a merchant callback)

    @property
    def pending(self) -> bool:
        """Has a step changed the record since it was last written?"""
        return self.latest.version != self.stored_version


_CURRENT: ContextVar[Batch | None] = ContextVar("purchase_batch", default=None)


@contextmanager
def batch(record: CheckoutRecord) -> Iterator[Batch]:
    """Work the steps on `record` (as loaded) in memory until the block ends."""
    token = _CURRENT.set(Batch(record.order_id, record.version, record))
    try:
        current = _CURRENT.get()
        assert current is not None
        yield current
    finally:
        _CURRENT.reset(token)


def batch_of(order_id: str) -> Batch | None:
    """The batch working on `order_id` in this context, if any."""
    current = _CURRENT.get()
    return current if current is not None and current.order_id == order_id else None


@contextmanager
def writing(current: Batch | None) -> Iterator[None]:
    """Saves inside the block go to the database (no batch: they always do)."""
    if current is None:
        yield
        return
    before, current.writing = current.writing, True
    try:
        yield
    finally:
        current.writing = before
