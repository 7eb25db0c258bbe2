"""Durations as people write them (`2h`, `90m`, `1d`, `30s`, `1h30m`, or seconds) → seconds.

The same spellings as `kco-sandbox clock advance`; written again here rather than imported, as
the client must not depend on the platform's code (it is used from other projects' tests).
"""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(duration: str | float | timedelta) -> float:
    """Seconds in `duration`: `"2h"`, `"90m"`, `"1d"`, `"30s"`, `"1h30m"`, `"7200"`, a number of
    seconds or a `timedelta`. Raises `ValueError` for anything else, and for a negative time."""
    if isinstance(duration, timedelta):
        seconds = duration.total_seconds()
    elif isinstance(duration, int | float) and not isinstance(duration, bool):
        seconds = float(duration)
    elif isinstance(duration, str):
        seconds = _parse_text(duration)
    else:
        raise ValueError(f"expected a duration like 2h, 90m, 30s or 1d, got {duration!r}")
    if not seconds >= 0:  # also refuses NaN
        raise ValueError(f"a duration cannot be negative, got {duration!r}")
    return seconds


def _parse_text(text: str) -> float:
    compact = text.strip().lower().replace(" ", "")
    parts = list(_PART.finditer(compact))
    # Each part needs its unit, except a lone number (plain seconds); together they must spell
    # the whole text, so "2x" or "1h-5m" are refused rather than read in part.
    whole = "".join(part.group(0) for part in parts) == compact
    units_given = len(parts) == 1 or all(part.group(2) for part in parts)
    if not compact or not whole or not units_given:
        raise ValueError(f"expected a duration like 2h, 90m, 30s or 1d, got {text!r}")
    return sum(float(part.group(1)) * _UNIT_SECONDS[part.group(2)] for part in parts)
