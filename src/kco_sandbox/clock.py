"""The one clock of the platform.

Everything that depends on time (checkout expiry, later authorization expiry and the callback
schedule) asks a `Clock`, never `datetime.now()`, so tests and the control API can move time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class MovableClock(Clock, Protocol):
    """A clock the sandbox API can move forward, whose offset is stored with the data."""

    @property
    def offset(self) -> timedelta: ...

    @property
    def scale(self) -> float: ...

    def advance(self, delta: timedelta) -> datetime: ...

    def catch_up(self, offset: timedelta) -> None: ...


class SystemClock:
    """Wall-clock time, optionally running `scale` times faster, plus an offset that only grows.

    The offset is how far the platform's time has been moved forward (the sandbox API's clock
    control); the scale runs real time faster for demos (60 = an hour a minute).
    """

    def __init__(self, offset: timedelta = timedelta(0), scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("the clock's scale must be positive")
        self._offset = offset
        self._scale = scale
        self._started = datetime.now(UTC)
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        return self._offset

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> datetime:
        real = datetime.now(UTC)
        if self._scale != 1.0:
            real = self._started + (real - self._started) * self._scale
        return real + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()

    def catch_up(self, offset: timedelta) -> None:
        """Take an offset another process reached (never move back)."""
        with self._lock:
            self._offset = max(self._offset, offset)


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        self._now = self._start

    @property
    def offset(self) -> timedelta:
        return self._now - self._start

    @property
    def scale(self) -> float:
        return 1.0

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def catch_up(self, offset: timedelta) -> None:
        self._now = max(self._now, self._start + offset)
