"""Delivering due callbacks from the outbox: claim, send, record, schedule the next attempt.

One pass (`run_due`) claims what is due at the platform's current time and attempts it; a claim
that is due again at once (after the clock jumped) is attempted again in the same pass, so moving
the clock forward by two hours makes every push of those two hours happen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx

from kco_sandbox import __version__
from kco_sandbox.clock import Clock
from kco_sandbox.domain import faults as fault_state
from kco_sandbox.domain.delivery import CallbackKind, CallbackStatus, Delivery
from kco_sandbox.store.orders import ManagementStore
from kco_sandbox.store.outbox import Attempt, Callback, OutboxStore

log = logging.getLogger("kco_sandbox.callbacks")
USER_AGENT = f"kco-sandbox/{__version__} (callbacks)"


def without_query(url: str) -> str:
    """The URL as logged: merchants put tokens in query strings, so those stay out of logs."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@dataclass
class Dispatcher:
    outbox: OutboxStore
    clock: Clock
    delivery: Delivery = field(default_factory=Delivery)
    client: httpx.Client = field(
        default_factory=lambda: httpx.Client(follow_redirects=False, trust_env=False)
    )
    batch: int = 50
    # Leases are wall-clock time: moving the platform clock must not free a claim another
    # worker is still sending, and a dead worker's claim frees itself once its attempt would
    # have timed out anyway.
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def lease(self) -> timedelta:
        """How long a claim holds: one attempt's time-out, a delay fault, and a margin."""
        return timedelta(seconds=self.delivery.timeout + 5)

    def run_due(self) -> int:
        """Attempt everything due now; the number of attempts made."""
        attempted = 0
        while True:
            claimed = self.outbox.claim_due(self.clock.now(), self.wall(), self.lease, self.batch)
            if not claimed:
                return attempted
            for callback in claimed:
                attempted += self.deliver(callback)

    def deliver(self, callback: Callback) -> int:
        if callback.kind is CallbackKind.PUSH and self._acknowledged(callback.order_id):
            self.outbox.record(callback, None, CallbackStatus.STOPPED, None)
            return 0
        faults = self._take_faults(callback.merchant_id)
        attempts = [self._attempt(callback, faults)]
        if faults.duplicate:  # the same request again, at once, as a flaky network might
            attempts.append(self._attempt(callback, fault_state.Faults(delay_ms=faults.delay_ms)))
        for earlier in attempts[:-1]:
            self.outbox.record(callback, earlier, CallbackStatus.PENDING, callback.next_attempt_at)
            callback = replace(callback, attempts=callback.attempts + 1)
        status, next_at = self._next(callback, attempts[-1])
        self.outbox.record(callback, attempts[-1], status, next_at)
        return len(attempts)

    def _next(self, callback: Callback, attempt: Attempt) -> tuple[CallbackStatus, datetime | None]:
        ok = attempt.status_code is not None and 200 <= attempt.status_code < 300
        if callback.kind is CallbackKind.NOTIFICATION and ok:
            return CallbackStatus.DELIVERED, None
        schedule = self.delivery.schedule_for(callback.kind)
        next_at = schedule.attempt_at(callback.starts_at, callback.attempts + 1)
        return (CallbackStatus.PENDING if next_at else CallbackStatus.EXPIRED), next_at

    def _attempt(self, callback: Callback, faults: fault_state.Faults) -> Attempt:
        started_at = self.clock.now()
        began = time.perf_counter()
        if faults.delay_ms:
            time.sleep(faults.delay_ms / 1000)
        status: int | None = None
        error: str | None = None
        if faults.drop:
            error = "dropped (fault injection)"
        elif faults.timeout:
            error = "timed out (fault injection)"
        else:
            headers = {"User-Agent": USER_AGENT}
            if callback.body:
                headers["Content-Type"] = "application/json"
            try:
                response = self.client.post(
                    callback.url,
                    content=callback.body,
                    headers=headers,
                    timeout=self.delivery.timeout,
                )
                status = response.status_code
            except httpx.TimeoutException:
                error = f"no answer within {self.delivery.timeout:g} s"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        duration = round((time.perf_counter() - began) * 1000, 1)
        log.info(
            "callback %s order=%s url=%s status=%s error=%s",
            callback.kind.value,
            callback.order_id,
            without_query(callback.url),
            status,
            error,
        )
        return Attempt(started_at, status, duration, error)

    def _acknowledged(self, order_id: str) -> bool:
        found = ManagementStore(self.outbox.store).get(order_id)
        return found is not None and found[0].acknowledged_at is not None

    def _take_faults(self, merchant_id: str) -> fault_state.Faults:
        """This attempt's faults; the counted ones are used up."""
        key = fault_state.state_key(merchant_id)
        current = fault_state.decode(self.outbox.get_state(key))
        if current.is_clear():
            return current
        left = fault_state.Faults(
            drop=max(current.drop - 1, 0),
            timeout=max(current.timeout - 1, 0) if not current.drop else current.timeout,
            duplicate=max(current.duplicate - 1, 0),
            delay_ms=current.delay_ms,
        )
        self.outbox.set_state(key, fault_state.encode(left))
        return current
