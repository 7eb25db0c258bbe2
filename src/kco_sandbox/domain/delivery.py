"""When the platform calls the merchant after a purchase: the retry schedules, as data.

Push (`merchant_urls.push`): the first attempt 2 minutes after completion, then 5, 15, 30 and 60
minutes after the previous one, then every 4 hours, for 48 hours after completion. Any HTTP answer
counts as delivered for that attempt; only acknowledging the order stops the schedule, and an
order acknowledged before the first attempt gets no push at all.

Notification (`merchant_urls.notification`): sent when a pending order's fraud decision falls
due; a failed attempt (no answer, or not 2xx) is tried again after 1, 5, 15 and 60 minutes, then
every 4 hours, for 48 hours.

HPP status update (`merchant_urls.status_update` of a Hosted Payment Page session): sent at once
when the session's status changes; no 2xx answer within 3 s is tried again after 5, 10 and 20
seconds, four calls in all, then given up (the vendor's documented "up to 3 retries").

Webhook (a merchant's webhook destination, Standard Webhooks): sent at once, then, while the
answer is not 2xx, after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (eight calls, the schedule
Standard Webhooks senders use, since the vendor's own was not published); 15 s per call; an
answer of `410 Gone` stops the schedule (the endpoint says it is gone for good).

`Delivery.after` is the decision after one attempt: what the callback's status becomes and when
it is tried next. Making the attempts is `services/delivery.py`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final


class CallbackKind(StrEnum):
    PUSH = "push"
    NOTIFICATION = "notification"
    HPP_STATUS = "hpp_status"
    WEBHOOK = "webhook"


class CallbackStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"  # a notification the merchant took (2xx)
    STOPPED = "stopped"  # a push whose order was acknowledged; a webhook answered 410, or whose
    # destination is gone
    EXPIRED = "expired"  # the schedule's window ended


@dataclass(frozen=True, slots=True)
class Schedule:
    """Gaps between attempts in seconds (the last one repeats), within a window after the start,
    and at most `limit` attempts when there is a limit."""

    gaps: tuple[int, ...]
    window: timedelta
    limit: int | None = None

    def attempt_at(self, start: datetime, attempt: int) -> datetime | None:
        """When attempt number `attempt` (0 = the first) is due, or None past the window (or the
        limit)."""
        if attempt < 0:
            raise ValueError("attempts count from 0")
        if self.limit is not None and attempt >= self.limit:
            return None
        seconds = sum(self.gaps[: attempt + 1])
        extra = attempt + 1 - len(self.gaps)
        if extra > 0:
            seconds += extra * self.gaps[-1]
        due = start + timedelta(seconds=seconds)
        return due if due <= start + self.window else None


PUSH_SCHEDULE: Final = Schedule(gaps=(120, 300, 900, 1800, 3600, 14400), window=timedelta(hours=48))
# Notifications start when the decision is due (gap 0), then retry on failure.
NOTIFICATION_SCHEDULE: Final = Schedule(
    gaps=(0, 60, 300, 900, 3600, 14400), window=timedelta(hours=48)
)

HPP_STATUS_SCHEDULE: Final = Schedule(gaps=(0, 5, 10, 20), window=timedelta(hours=1), limit=4)
WEBHOOK_SCHEDULE: Final = Schedule(
    gaps=(0, 5, 300, 1800, 7200, 18000, 36000, 36000), window=timedelta(days=3), limit=8
)


# Seconds one push or notification attempt may take (`--callback-timeout`).
ATTEMPT_TIMEOUT: Final = 10.0
HPP_STATUS_TIMEOUT: Final = 3.0
WEBHOOK_TIMEOUT: Final = 15.0
GONE: Final = 410  # a webhook endpoint that answers this wants no more deliveries


@dataclass(frozen=True, slots=True)
class Delivery:
    """How callbacks are delivered: the schedules, and how long to wait for an answer."""

    push: Schedule = PUSH_SCHEDULE
    notification: Schedule = NOTIFICATION_SCHEDULE
    timeout: float = ATTEMPT_TIMEOUT  # push and notification
    hpp_status: Schedule = HPP_STATUS_SCHEDULE
    hpp_status_timeout: float = HPP_STATUS_TIMEOUT
    webhook: Schedule = WEBHOOK_SCHEDULE
    webhook_timeout: float = WEBHOOK_TIMEOUT

    def schedule_for(self, kind: CallbackKind) -> Schedule:
        return {
            CallbackKind.PUSH: self.push,
            CallbackKind.NOTIFICATION: self.notification,
            CallbackKind.HPP_STATUS: self.hpp_status,
            CallbackKind.WEBHOOK: self.webhook,
        }[kind]

    def timeout_for(self, kind: CallbackKind) -> float:
        """Seconds one attempt of a `kind` callback waits for its answer."""
        if kind is CallbackKind.HPP_STATUS:
            return self.hpp_status_timeout
        if kind is CallbackKind.WEBHOOK:
            return self.webhook_timeout
        return self.timeout

    @property
    def longest_timeout(self) -> float:
        return max(self.timeout, self.hpp_status_timeout, self.webhook_timeout)

    def after(self, callback: Callback, attempt: Attempt) -> Next:
        """Where `callback` stands after `attempt` (its attempt number `callback.attempts`).

        A push keeps to its schedule whatever the answer (only acknowledging the order stops
        it). Every other kind the merchant took (2xx) is delivered; a webhook answered `410` is
        stopped; anything else keeps to the schedule. Past the schedule's window (or its last
        attempt) the callback has expired.
        """
        if callback.kind is not CallbackKind.PUSH and attempt.succeeded:
            return Next(CallbackStatus.DELIVERED, None)
        if callback.kind is CallbackKind.WEBHOOK and attempt.status_code == GONE:
            return Next(CallbackStatus.STOPPED, None)
        schedule = self.schedule_for(callback.kind)
        at = schedule.attempt_at(callback.starts_at, callback.attempts + 1)
        return Next(CallbackStatus.PENDING, at) if at else Next(CallbackStatus.EXPIRED, None)


@dataclass(frozen=True, slots=True)
class Next:
    """A callback's status after an attempt, and when the next attempt is due (if any)."""

    status: CallbackStatus
    attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class Callback:
    """A callback to deliver: its request frozen when it was queued, and where it stands."""

    callback_id: str
    order_id: str
    merchant_id: str
    kind: CallbackKind
    url: str
    body: bytes
    starts_at: datetime
    next_attempt_at: datetime | None
    attempts: int = 0
    status: CallbackStatus = CallbackStatus.PENDING
    # What else the callback is about: a webhook's destination id, an HPP session's id.
    target: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP try of a callback, as it happened."""

    started_at: datetime
    status_code: int | None
    duration_ms: float
    error: str | None

    @property
    def succeeded(self) -> bool:
        """Did the merchant answer 2xx?"""
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_gaps(text: str) -> tuple[int, ...]:
    """`"120,300,900"` → (120, 300, 900): a schedule given as a setting."""
    try:
        gaps = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        gaps = ()
    if not gaps or any(gap < 0 for gap in gaps):
        raise ValueError(f"expected comma-separated seconds >= 0, got {text!r}")
    return gaps
