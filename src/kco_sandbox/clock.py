"""The platform's clocks: the base clock, and each merchant's own time on top of it.

Everything that depends on time (checkout expiry, authorization expiry, the callback schedule)
asks a clock, never `datetime.now()`, so tests and the control API can move time. The base clock
(`SystemClock`, or `FrozenClock` in tests) is the platform's; `MerchantClocks` adds each
merchant's own offset, which only that merchant moves, so no merchant disturbs another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
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
    control); the scale runs real time faster for demos (60 = an hour a minute), from `started`
    (now, unless given: the server processes of one `serve --workers N` share the parent's, so
    that a scaled clock reads the same in each).
    """

    def __init__(
        self,
        offset: timedelta = timedelta(0),
        scale: float = 1.0,
        started: datetime | None = None,
    ) -> None:
        if scale <= 0:
            raise ValueError("the clock's scale must be positive")
        self._offset = offset
        self._scale = scale
        self._started = started if started is not None else datetime.now(UTC)
        self._lock = threading.Lock()

    @property
    def started(self) -> datetime:
        """Where scaled time begins (real time and platform time agree there, but the offset)."""
        return self._started

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


# How far one advance may move a merchant's clock, and how far ahead of the base clock a
# merchant's clock may ever be. Both keep every time the platform computes (expiry, schedules,
# the 48-hour windows) far inside `datetime`'s range, whatever a client sends.
MAX_ADVANCE = timedelta(days=400)
MAX_OFFSET = timedelta(days=3650)


def bounded(offset: timedelta) -> timedelta:
    """`offset` within [0, MAX_OFFSET]: an offset stored before the bounds existed (or by hand)
    must not make every later request fail."""
    return min(max(offset, timedelta(0)), MAX_OFFSET)


class MerchantClocks:
    """Every merchant's own time: the base clock plus that merchant's offset.

    A merchant moving its clock (the sandbox API) moves only its own orders' expiry, its
    callbacks' schedule and its events' times; other merchants and the platform itself (health,
    metrics) keep the base clock's time. Tests move the base clock (`FrozenClock`) to move
    everyone at once.

    Merchants that never moved their clock share `default` (the platform-wide offset that
    databases stored before clocks were per merchant); offsets only grow, so a worker process
    catching up with what another process stored can never move a clock back.

    The offsets are kept here, and stored with the data by whoever moves a clock. A process that
    serves beside others (`serve --workers N`) must see a move another one made at once: it
    `follow`s a version that the processes raise in shared memory after storing a move, and
    reloads the stored offsets before a reading whenever the version changed (a read of shared
    memory per reading, a database read only after a move).
    """

    def __init__(self, base: MovableClock, default: timedelta = timedelta(0)) -> None:
        self.base = base
        self._default = bounded(default)
        self._offsets: dict[str, timedelta] = {}
        self._lock = threading.Lock()
        self._version: Callable[[], object] | None = None
        self._reload: Callable[[], bool] = lambda: True
        self._seen: object = None

    def follow(self, version: Callable[[], object], reload: Callable[[], bool]) -> None:
        """From now on, before each reading: when `version()` differs from the one last seen, call
        `reload()` (which takes the stored offsets up through `catch_up`, and answers whether it
        could: if not, the offsets known stay in use and the next reading tries again)."""
        seen = version()
        if reload():
            self._seen = seen
        self._reload = reload
        self._version = version

    def _fresh(self) -> None:
        version = self._version
        if version is None:
            return
        current = version()
        # The version is read before the offsets: a move stored after this reading raises the
        # version again, so it is never taken as seen without having been loaded.
        if current != self._seen and self._reload():
            self._seen = current

    @property
    def scale(self) -> float:
        return self.base.scale

    @property
    def default(self) -> timedelta:
        """The offset of every merchant that has not moved its own clock."""
        self._fresh()
        return self._default

    def offset(self, merchant_id: str) -> timedelta:
        self._fresh()
        return self._offsets.get(merchant_id, self._default)

    def now(self, merchant_id: str) -> datetime:
        return self.base.now() + self.offset(merchant_id)

    def default_now(self) -> datetime:
        """The time of every merchant that has not moved its clock."""
        return self.base.now() + self.default

    def advance(self, merchant_id: str, delta: timedelta) -> timedelta:
        """Move one merchant's clock forward by `delta`; its new offset.

        Refuses (ValueError, nothing moves) a step back, a step over `MAX_ADVANCE`, or a total
        offset over `MAX_OFFSET`: the service checks these first to answer in the API's words.
        """
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        if delta > MAX_ADVANCE:
            raise ValueError("one advance moves the clock at most 400 days")
        self._fresh()
        with self._lock:
            offset = self._offsets.get(merchant_id, self._default) + delta
            if offset > MAX_OFFSET:
                raise ValueError("a merchant's clock is at most 10 years ahead")
            self._offsets[merchant_id] = offset
        return offset

    def catch_up(self, offsets: Mapping[str, timedelta], default: timedelta | None = None) -> None:
        """Take the offsets another process reached (never moving a clock back)."""
        with self._lock:
            if default is not None:
                self._default = max(self._default, bounded(default))
            for merchant_id, offset in offsets.items():
                known = self._offsets.get(merchant_id, self._default)
                self._offsets[merchant_id] = max(known, bounded(offset))

    def moved(self) -> dict[str, datetime]:
        """The time of each merchant whose clock differs from the default one: what the outbox
        needs beyond `default_now()` to know what is due (bounded by the merchants that moved)."""
        self._fresh()
        base = self.base.now()
        with self._lock:
            return {
                merchant_id: base + offset
                for merchant_id, offset in self._offsets.items()
                if offset != self._default
            }
