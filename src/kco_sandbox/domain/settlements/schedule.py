"""The settlement schedule: a daily cut-off at a wall-clock time in one time zone.

The vendor processes settlements at 23:59 CET; that is the default (`Europe/Stockholm`, which
follows CET and CEST). Everything made before a cut-off, on the merchant's clock, is paid out by
the payout dated at that cut-off. Times here are aware datetimes; results are in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_CUTOFF = "23:59"
DEFAULT_ZONE = "Europe/Stockholm"


@dataclass(frozen=True, slots=True)
class Schedule:
    at: time  # the cut-off's wall-clock time in `zone`
    zone: ZoneInfo

    @classmethod
    def parse(cls, at: str = DEFAULT_CUTOFF, zone: str = DEFAULT_ZONE) -> Schedule:
        """`HH:MM` in an IANA zone; `ValueError` saying what is wrong."""
        try:
            wall = time.fromisoformat(at)
        except ValueError:
            raise ValueError(f"expected a time of day like 23:59, got {at!r}") from None
        if wall.tzinfo is not None:
            raise ValueError(f"give the time without a zone, got {at!r}")
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, like "Europe"
            raise ValueError(
                f"unknown time zone {zone!r}; use an IANA name like Europe/Stockholm"
            ) from None
        return cls(wall, tz)

    def _around(self, moment: datetime) -> list[datetime]:
        """The cut-offs of the day before, the day of and the day after `moment` (local), UTC."""
        day = moment.astimezone(self.zone).date()
        return [
            datetime.combine(day + timedelta(days=n), self.at, tzinfo=self.zone).astimezone(UTC)
            for n in (-1, 0, 1)
        ]

    def cutoff_after(self, moment: datetime) -> datetime:
        """The first cut-off strictly after `moment`: the one whose payout takes what was made
        at `moment`."""
        return min(c for c in self._around(moment) if c > moment)

    def cutoff_until(self, moment: datetime) -> datetime:
        """The last cut-off at or before `moment`: everything made before it is due."""
        return max(c for c in self._around(moment) if c <= moment)
