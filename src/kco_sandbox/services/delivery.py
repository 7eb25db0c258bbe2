"""Delivering push and notification callbacks, and the platform clock that makes them fall due.

`DeliveryService` owns the use-case "deliver what is due": claim due callbacks from the outbox,
leave the pushes of acknowledged orders (stopped, nothing sent), take this delivery's faults (kept
per merchant in the platform state), make the attempt through the merchant HTTP edge, record it
and schedule the next one. The decisions are the domain's (`Delivery.after`, `faults.take`); the
HTTP is the edge's (`outbound/merchant_http.py`); the loop that calls `run_round` is
`outbound/worker.py`.

The clock's offset is stored with the data, so a restarted server (or a separate worker process)
continues at the time the platform had reached.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from kco_sandbox.clock import MovableClock
from kco_sandbox.domain import faults as fault_state
from kco_sandbox.domain.delivery import Attempt, Callback, CallbackKind, CallbackStatus, Delivery
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.store import Store

OFFSET_KEY = "clock_offset_seconds"
log = logging.getLogger("kco_sandbox.callbacks")


def _wall_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Advanced:
    now: datetime
    attempted: int


@dataclass(frozen=True, slots=True)
class DeliveryService:
    clock: MovableClock
    store: Store
    http: MerchantHttp
    delivery: Delivery = field(default_factory=Delivery)
    batch: int = 50  # callbacks per claim (one write transaction)
    # Leases are wall-clock time: moving the platform clock must not free a claim another worker
    # is still sending, and a dead worker's claim frees itself once its attempt would have timed
    # out anyway.
    wall: Callable[[], datetime] = _wall_now
    # Told of every attempt made (the composition root counts them in the metrics).
    on_attempt: Callable[[Callback, Attempt], None] | None = None

    @property
    def lease(self) -> timedelta:
        """How long a claim holds: one attempt's time-out, a delay fault, and a margin."""
        return timedelta(seconds=self.delivery.timeout + 5)

    # the clock

    def load(self) -> None:
        """Continue at the stored offset (at start-up, and in a worker process's every round)."""
        stored = self.store.state.get(OFFSET_KEY)
        if stored is not None:
            self.clock.catch_up(timedelta(seconds=float(stored)))

    def advance(self, seconds: float) -> Advanced:
        """Move the clock forward and return once every callback now due has been attempted."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        before = self.store.outbox.attempt_count()
        self.load()
        now = self.clock.advance(timedelta(seconds=seconds))
        self.store.state.set(OFFSET_KEY, repr(self.clock.offset.total_seconds()))
        # Another worker's claim frees itself within one lease (a dead worker's too): wait for it
        # to be attempted, by that worker or, once the lease is over, by this loop.
        deadline = time.monotonic() + self.lease.total_seconds() + 5
        while True:
            self.deliver_due()
            if self.store.outbox.due_count(self.clock.now()) == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return Advanced(now, self.store.outbox.attempt_count() - before)

    # delivering

    def run_round(self, poll: float) -> float:
        """One round of the delivery loop: catch up with the stored clock, deliver what is due;
        the seconds to wait before the next round (until the next callback falls due, at most
        `poll`, so callbacks queued by another process are seen)."""
        self.load()
        self.deliver_due()
        due = self.store.outbox.next_due_at()
        if due is None:
            return poll
        seconds = (due - self.clock.now()).total_seconds() / self.clock.scale
        return min(max(seconds, 0.01), poll)

    def deliver_due(self) -> int:
        """Attempt everything due now; the number of attempts made.

        A callback due again at once (after the clock jumped) is claimed again in the same pass,
        so moving the clock forward by two hours makes every push of those two hours happen.
        """
        attempted = 0
        while True:
            claimed = self.store.outbox.claim_due(
                self.clock.now(), self.wall(), self.lease, self.batch
            )
            if not claimed:
                return attempted
            for callback in claimed:
                attempted += self.deliver(callback)

    def deliver(self, callback: Callback) -> int:
        """Deliver one claimed callback and record what happened; the number of attempts made."""
        if callback.kind is CallbackKind.PUSH and self._acknowledged(callback.order_id):
            self.store.outbox.record(callback, [], CallbackStatus.STOPPED, None)
            return 0
        taken = self._take_faults(callback.merchant_id)
        attempts = [self._attempt(callback, taken)]
        if taken.duplicate:  # the same request again, at once, as a flaky network might send it
            attempts.append(self._attempt(callback, taken.second_send()))
        # The last attempt decides; the ones before it count as attempts made. All are recorded
        # in one transaction, so the claim is held until every send is over.
        last = replace(callback, attempts=callback.attempts + len(attempts) - 1)
        after = self.delivery.after(last, attempts[-1])
        self.store.outbox.record(callback, attempts, after.status, after.attempt_at)
        return len(attempts)

    def _attempt(self, callback: Callback, taken: fault_state.Taken) -> Attempt:
        started_at = self.clock.now()
        began = time.perf_counter()
        if taken.delay_ms:
            time.sleep(taken.delay_ms / 1000)
        status: int | None = None
        error = taken.error
        if error is None:
            answer = self.http.post(callback.url, callback.body, self.delivery.timeout).answer
            status, error = answer.status, answer.error
        duration = round((time.perf_counter() - began) * 1000, 1)
        log.info(
            "callback %s order=%s url=%s status=%s error=%s",
            callback.kind.value,
            callback.order_id,
            without_query(callback.url),
            status,
            error,
        )
        attempt = Attempt(started_at, status, duration, error)
        if self.on_attempt is not None:
            self.on_attempt(callback, attempt)
        return attempt

    def _acknowledged(self, order_id: str) -> bool:
        found = self.store.orders.get(order_id)
        return found is not None and found[0].acknowledged_at is not None

    def _take_faults(self, merchant_id: str) -> fault_state.Taken:
        """This delivery's faults; the counted ones are used up in the stored settings."""
        key = fault_state.state_key(merchant_id)
        current = fault_state.decode(self.store.state.get(key))
        taken, left = fault_state.take(current)
        if left != current:
            self.store.state.set(key, fault_state.encode(left))
        return taken


def without_query(url: str) -> str:
    """The URL as logged: scheme, host, port and path only.

    Merchants put tokens in query strings and `user:password@` in the host part (sent as Basic
    `Authorization`), so neither, nor a fragment, is ever logged.
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
