"""When the platform calls the merchant after a purchase: the retry schedules, as data.

Push (`merchant_urls.push`): the first attempt 2 minutes after completion, then 5, 15, 30 and 60
minutes after the previous one, then every 4 hours, for 48 hours after completion. Any HTTP answer
counts as delivered for that attempt; only acknowledging the order stops the schedule, and an
order acknowledged before the first attempt gets no push at all.

Notification (`merchant_urls.notification`): sent when a pending order's fraud decision falls
due; a failed attempt (no answer, or not 2xx) is tried again after 1, 5, 15 and 60 minutes, then
every 4 hours, for 48 hours.
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


@dataclass(frozen=True, slots=True)
class Delivery:
    """How callbacks after a purchase are delivered: the schedules, and how long to wait."""

    push: Schedule = PUSH_SCHEDULE
    notification: Schedule = NOTIFICATION_SCHEDULE
    timeout: float = 10.0  # seconds for one attempt

    def schedule_for(self, kind: CallbackKind) -> Schedule:
        return self.push if kind is CallbackKind.PUSH else self.notification


def parse_gaps(text: str) -> tuple[int, ...]:
    """`"120,300,900"` → (120, 300, 900): a schedule given as a setting."""
    gaps = tuple(int(part) for part in text.split(",") if part.strip())
    if not gaps or any(gap < 0 for gap in gaps):
        raise ValueError(f"expected comma-separated seconds >= 0, got {text!r}")
    return gaps
