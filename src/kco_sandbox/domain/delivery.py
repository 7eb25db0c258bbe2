"""When the platform calls the merchant after a purchase: the retry schedules, as data.

Push (`merchant_urls.push`): the first attempt 2 minutes after completion, then 5, 15, 30 and 60
minutes after the previous one, then every 4 hours, for 48 hours after completion. Any HTTP answer
counts as delivered for that attempt; only acknowledging the order stops the schedule, and an
order acknowledged before the first attempt gets no push at all.

Notification (`merchant_urls.notification`): sent when a pending order's fraud decision falls
due; a failed attempt (no answer, or not 2xx) is tried again after 1, 5, 15 and 60 minutes, then
every 4 hours, for 48 hours.

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


class CallbackStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"  # a notification the merchant took (2xx)
    STOPPED = "stopped"  # a push whose order was acknowledged
    EXPIRED = "expired"  # the schedule's window ended


@dataclass(frozen=True, slots=True)
class Schedule:
    """Gaps between attempts in seconds (the last one repeats), within a window after the start."""

    gaps: tuple[int, ...]
    window: timedelta

    def attempt_at(self, start: datetime, attempt: int) -> datetime | None:
        """When attempt number `attempt` (0 = the first) is due, or None past the window."""
        if attempt < 0:
            raise ValueError("attempts count from 0")
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


# Seconds one push or notification attempt may take (`--callback-timeout`).
ATTEMPT_TIMEOUT: Final = 10.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """How callbacks after a purchase are delivered: the schedules, and how long to wait."""

    push: Schedule = PUSH_SCHEDULE
    notification: Schedule = NOTIFICATION_SCHEDULE
    timeout: float = ATTEMPT_TIMEOUT

    def schedule_for(self, kind: CallbackKind) -> Schedule:
        return self.push if kind is CallbackKind.PUSH else self.notification

    def after(self, callback: Callback, attempt: Attempt) -> Next:
        """Where `callback` stands after `attempt` (its attempt number `callback.attempts`).

        A notification the merchant took (2xx) is delivered. Anything else keeps to the schedule:
        a push whatever the answer (only acknowledging the order stops it), a notification that
        got no answer or not 2xx. Past the schedule's window the callback has expired.
        """
        if callback.kind is CallbackKind.NOTIFICATION and attempt.succeeded:
            return Next(CallbackStatus.DELIVERED, None)
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
