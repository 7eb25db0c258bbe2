"""Delivering callbacks (push, notification, HPP status updates, webhooks), and each merchant's
clock that makes them fall due.

`DeliveryService` owns the use-case "deliver what is due": claim due callbacks from the outbox,
leave the pushes of acknowledged orders (stopped, nothing sent), take this delivery's faults (kept
per merchant in the platform state), make the attempt through the merchant HTTP edge, record it
and schedule the next one. The decisions are the domain's (`Delivery.after`, `faults.take`); the
HTTP is the edge's (`outbound/merchant_http.py`); the loop that calls `run_round` is
`outbound/worker.py`, and each merchant's callbacks go out on a lane of their own (`Lanes`), so a
merchant's slow endpoint or delay fault never holds up another merchant's callbacks.

Each merchant has its own clock (`MerchantClocks`); its offset is stored with the data, per
merchant, so a restarted server (or a separate worker process) continues at the time each
merchant had reached. The offset the platform stored before clocks were per merchant
(`OFFSET_KEY`) is every merchant's starting offset.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from kco_sandbox.clock import MAX_ADVANCE, MAX_OFFSET, MerchantClocks
from kco_sandbox.domain import faults as fault_state
from kco_sandbox.domain.delivery import Attempt, Callback, CallbackKind, CallbackStatus, Delivery
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.faults import Faults
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.outbound.worker import Lanes
from kco_sandbox.store import Store
from kco_sandbox.store.outbox import Due

# Makes the headers of one attempt of a callback, at the attempt's time (see `headers`).
HeaderSource = Callable[[Callback, datetime], Mapping[str, str]]

MAX_NOTED = 1000  # open orders a clock move is noted on, at most (one bounded write)
OFFSET_KEY = "clock_offset_seconds"  # the platform-wide offset of before: every merchant's start
MERCHANT_OFFSET_PREFIX = OFFSET_KEY + ":"  # + merchant id: that merchant's offset
# While a lane runs, the loop looks again this often for other merchants' callbacks falling due.
BUSY_POLL = 0.05
log = logging.getLogger("kco_sandbox.callbacks")


def _wall_now() -> datetime:
    return datetime.now(UTC)


def _seconds(text: str | None) -> timedelta:
    """A stored offset; one that cannot be read counts as none (the clock then stays put)."""
    try:
        seconds = float(text) if text is not None else 0.0
    except ValueError:
        return timedelta(0)
    if not math.isfinite(seconds):
        return MAX_OFFSET if seconds > 0 else timedelta(0)
    return timedelta(seconds=min(max(seconds, 0.0), MAX_OFFSET.total_seconds()))


def stored_offset(store: Store, merchant_id: str) -> timedelta:
    """How far `merchant_id`'s clock has been moved, as stored (for tools reading the data)."""
    own = store.state.get(MERCHANT_OFFSET_PREFIX + merchant_id)
    return _seconds(own if own is not None else store.state.get(OFFSET_KEY))


@dataclass(frozen=True, slots=True)
class Advanced:
    now: datetime
    attempted: int


@dataclass(frozen=True, slots=True)
class DeliveryService:
    clocks: MerchantClocks
    store: Store
    http: MerchantHttp
    delivery: Delivery = field(default_factory=Delivery)
    batch: int = 50  # callbacks per claim (one write transaction)
    # Leases are wall-clock time: moving a clock must not free a claim another worker is still
    # sending, and a dead worker's claim frees itself once its attempt would have timed out anyway.
    wall: Callable[[], datetime] = _wall_now
    # Told of every attempt made (the composition root counts them in the metrics).
    on_attempt: Callable[[Callback, Attempt], None] | None = None
    lanes: Lanes = field(default_factory=Lanes)
    # Headers made for each delivery, per kind: a webhook's `webhook-timestamp` and signature are
    # the delivery's own, with the destination's secrets as they are then (rotation). Given the
    # callback and the time it is sent; LookupError when what it needs is gone (a deleted
    # destination), which stops the callback without a call.
    headers: Mapping[CallbackKind, HeaderSource] = field(default_factory=dict)

    @property
    def lease(self) -> timedelta:
        """How long a claim holds at most: the longest attempt's time-out, a delay fault, and a
        margin (a clock advance waits this long for another worker's claim to free itself)."""
        return max(self.leases.values())

    @property
    def leases(self) -> dict[CallbackKind, timedelta]:
        """How long a claim holds, by kind: that kind's time-out, a delay fault, and a margin,
        so a push is free again after its own lease, not a webhook's longer one."""
        return {
            kind: timedelta(seconds=self.delivery.timeout_for(kind) + 5) for kind in CallbackKind
        }

    @property
    def max_delay_ms(self) -> int:
        """The longest `delay_ms` fault: below a push's lease (its time-out and a margin), so a
        delayed attempt is over before its claim frees itself and another worker sends it
        again. The bound stays the push's when kinds with longer time-outs lengthen the lease."""
        return math.ceil((self.delivery.timeout + 5) * 1000) - 1

    # the clocks

    def load(self) -> None:
        """Continue at the stored offsets (at start-up, and in a worker process's every round)."""
        stored = self.store.state.with_prefix(MERCHANT_OFFSET_PREFIX)
        legacy = self.store.state.get(OFFSET_KEY)
        self.clocks.catch_up(
            {merchant_id: _seconds(text) for merchant_id, text in stored.items()},
            _seconds(legacy) if legacy is not None else None,
        )

    def due(self) -> Due:
        """The outbox's "now": every merchant's own time."""
        return Due(self.clocks.default_now(), self.clocks.moved())

    def advance(self, merchant_id: str, seconds: float) -> Advanced:
        """Move `merchant_id`'s clock forward and return once every callback of that merchant now
        due has been attempted. Other merchants' clocks and callbacks are not touched."""
        if not math.isfinite(seconds) or seconds < 0:
            raise BadValue("seconds", "the clock only moves forward")
        if seconds > MAX_ADVANCE.total_seconds():
            raise BadValue(
                "seconds", f"one advance is at most 400 days ({MAX_ADVANCE.total_seconds():.0f})"
            )
        self.load()
        delta = timedelta(seconds=seconds)
        if self.clocks.offset(merchant_id) + delta > MAX_OFFSET:
            left = (MAX_OFFSET - self.clocks.offset(merchant_id)).total_seconds()
            raise BadValue(
                "seconds",
                f"a merchant's clock is at most 10 years ahead; it may move {left:.0f} more",
            )
        before = self.store.outbox.attempt_count()
        moved_at = self.clocks.now(merchant_id)
        # Moved where it is stored, in one transaction: two processes moving the same merchant's
        # clock at once both count (`serve --workers N`).
        start = self.clocks.offset(merchant_id)  # an offset not stored yet: the default

        def step(stored: str | None) -> str:
            offset = _seconds(stored) if stored is not None else start
            return repr((offset + delta).total_seconds())

        moved_to = self.store.state.change(MERCHANT_OFFSET_PREFIX + merchant_id, step)
        self.clocks.catch_up({merchant_id: _seconds(moved_to)})
        # The orders this move can change say so in their timelines, before what it makes due.
        moved = {"seconds": seconds, "to": self.clocks.now(merchant_id).isoformat()}
        self.store.events.note_on_open_orders(
            merchant_id, moved_at, "clock.advanced", moved, MAX_NOTED
        )
        # Another worker's claim frees itself within one lease (a dead worker's too): wait for it
        # to be attempted, by that worker or, once the lease is over, by this loop.
        deadline = time.monotonic() + self.lease.total_seconds() + 5
        while True:
            self.deliver_due(merchant_id)
            due = self.store.outbox.due_count(self.due(), merchant_id)
            if due == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return Advanced(self.clocks.now(merchant_id), self.store.outbox.attempt_count() - before)

    # delivering

    def run_round(self, poll: float) -> float:
        """One round of the delivery loop: catch up with the stored clocks, start a lane for each
        merchant with callbacks due (its lane delivers them while the loop goes on); the seconds
        to wait before the next round (until the next callback falls due, at most `poll`, so
        callbacks queued by another process are seen)."""
        self.load()
        due = self.due()
        for merchant_id in self.store.outbox.due_merchants(due, self.wall(), self.lanes.busy()):
            self.lanes.start(merchant_id, functools.partial(self.deliver_due, merchant_id))
        busy = self.lanes.busy()
        if busy:
            poll = min(poll, BUSY_POLL)
        next_at = self.store.outbox.next_due_at(due, exclude=busy)
        if next_at is None:
            return poll
        seconds = (next_at - due.default).total_seconds() / self.clocks.scale
        return min(max(seconds, 0.01), poll)

    def deliver_due(self, merchant_id: str | None = None) -> int:
        """Attempt everything due now (only `merchant_id`'s, when given); the number of attempts.

        Each merchant's callbacks go out on a lane of its own, in parallel. A callback due again at
        once (after the clock jumped) is claimed again in the same pass, so moving a clock forward
        by two hours makes every push of those two hours happen.
        """
        if merchant_id is None:
            attempted = 0
            while merchants := self.store.outbox.due_merchants(self.due(), self.wall()):
                work = {m: functools.partial(self.deliver_due, m) for m in merchants}
                attempted += self.lanes.run_all(work)
            return attempted
        attempted = 0
        while claimed := self.store.outbox.claim_due(
            self.due(), self.wall(), self.leases, self.batch, merchant_id
        ):
            for callback in claimed:
                attempted += self.deliver(callback)
        return attempted

    def deliver(self, callback: Callback) -> int:
        """Deliver one claimed callback and record what happened; the number of attempts made."""
        if callback.kind is CallbackKind.PUSH and self._acknowledged(callback.order_id):
            self.store.outbox.record(callback, [], CallbackStatus.STOPPED, None)
            return 0
        try:
            headers = self._headers(callback, self.clocks.now(callback.merchant_id))
        except LookupError:  # what the headers need is gone (a deleted webhook destination)
            self.store.outbox.record(callback, [], CallbackStatus.STOPPED, None)
            return 0
        taken = self._take_faults(callback.merchant_id)
        attempts = [self._attempt(callback, taken, headers)]
        if taken.duplicate:  # the same request again, at once, as a flaky network might send it
            attempts.append(self._attempt(callback, taken.second_send(), headers))
        # The last attempt decides; the ones before it count as attempts made. All are recorded
        # in one transaction, so the claim is held until every send is over.
        last = replace(callback, attempts=callback.attempts + len(attempts) - 1)
        after = self.delivery.after(last, attempts[-1])
        self.store.outbox.record(callback, attempts, after.status, after.attempt_at)
        return len(attempts)

    def _attempt(
        self, callback: Callback, taken: fault_state.Taken, headers: Mapping[str, str]
    ) -> Attempt:
        started_at = self.clocks.now(callback.merchant_id)
        began = time.perf_counter()
        if taken.delay_ms:
            # Bounded again here: a delay stored before the bound existed must not outlast the
            # claim (or overflow `sleep`).
            time.sleep(min(taken.delay_ms, self.max_delay_ms) / 1000)
        status: int | None = None
        error = taken.error
        if error is None:
            timeout = self.delivery.timeout_for(callback.kind)
            answer = self.http.post(callback.url, callback.body, timeout, headers=headers).answer
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

    def _headers(self, callback: Callback, at: datetime) -> Mapping[str, str]:
        make = self.headers.get(callback.kind)
        return make(callback, at) if make is not None else {}

    def _acknowledged(self, order_id: str) -> bool:
        found = self.store.orders.get(order_id)
        return found is not None and found[0].acknowledged_at is not None

    # faults

    def check_faults(self, faults: Faults) -> Faults:
        """`faults` if this platform can apply them, else the vendor's 400 naming the field."""
        return fault_state.check(faults, self.max_delay_ms)

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
