"""The client's duration parser: the spellings `kco-sandbox clock advance` takes, and a few more."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kco_sandbox.client import parse_duration


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        ("2h", 7200),
        ("90m", 5400),
        ("1d", 86400),
        ("30s", 30),
        ("7200", 7200),
        ("1.5h", 5400),
        (" 1h30m ", 5400),
        ("1d 2h", 93600),
        ("2H", 7200),
        ("0", 0),
        (45, 45),
        (2.5, 2.5),
        (timedelta(minutes=2), 120),
    ],
)
def test_durations_people_write_are_seconds(
    duration: str | float | timedelta, seconds: float
) -> None:
    assert parse_duration(duration) == seconds


@pytest.mark.parametrize(
    "duration", ["", "h", "2x", "2 hours", "1h-5m", "-5", "1h30", "1e3", -1, float("nan"), True]
)
def test_anything_else_is_refused(duration: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(duration)  # type: ignore[arg-type]
