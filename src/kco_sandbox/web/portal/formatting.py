"""How the portal's order pages write amounts, times and states: passed to their templates as
`fmt`, so every page spells an amount or a status the same way.

Amounts travel in minor units (10000 is 100.00 SEK); every currency the vendor's markets use has
two decimals. A status is always a badge with its name in words: colour only repeats the text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Final

NONE: Final = "\u2013"  # an en dash: the table's "nothing here"
# Badge class by state or status (the checkout's, Order Management's, fraud, a callback's).
_TONES: Final[dict[str, str]] = {
    "checkout_complete": "ok",
    "checkout_incomplete": "info",
    "aborted": "neutral",
    "expired": "warn",
    "AUTHORIZED": "info",
    "PART_CAPTURED": "info",
    "CAPTURED": "ok",
    "CANCELLED": "neutral",
    "EXPIRED": "warn",
    "CLOSED": "neutral",
    "ACCEPTED": "ok",
    "PENDING": "warn",
    "REJECTED": "bad",
    "STOPPED": "bad",
}
_LABELS: Final[dict[str, str]] = {
    "checkout_complete": "complete",
    "checkout_incomplete": "incomplete",
}


def money(minor: int | None, currency: str | None = "") -> str:
    """`10000, "SEK"` → `100.00 SEK`."""
    if minor is None:
        return NONE
    sign = "-" if minor < 0 else ""
    major, cents = divmod(abs(minor), 100)
    return f"{sign}{major:,}.{cents:02d} {currency or ''}".rstrip()


def when(value: datetime | None) -> str:
    """`2026-01-01 12:00:00 UTC`: whole seconds, always UTC (the platform's clocks are)."""
    if value is None:
        return NONE
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short(value: datetime | None) -> str:
    """`2026-01-01 12:00`: for a table's column (its header says UTC; the title has seconds)."""
    if value is None:
        return NONE
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def iso(value: datetime | None) -> str:
    """For `<time datetime=...>`."""
    return value.astimezone(UTC).isoformat() if value is not None else ""


def tone(status: object) -> str:
    """The badge class of a status: HTTP codes by class, names from the table, else neutral."""
    if isinstance(status, int):
        return "ok" if status < 300 else "warn" if status < 500 else "bad"
    return _TONES.get(str(status), "neutral")


def label(status: object) -> str:
    return _LABELS.get(str(status), str(status))


# What each kind of callback is called on the pages (the outbox's `kind`).
_CALLBACKS: Final = {
    "push": "Push",
    "notification": "Notification",
    "hpp_status": "HPP status update",
    "webhook": "Webhook",
}


def callback_name(kind: str) -> str:
    """`push` → "Push", `hpp_status` → "HPP status update" (an unknown kind as it is)."""
    return _CALLBACKS.get(kind, kind.replace("_", " ").capitalize())


def pretty(value: Any) -> str:
    """JSON indented for reading (the template escapes it)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def pretty_text(text: str) -> str:
    """A body as it was sent: indented when it is whole JSON, else as it is (a body cut at its
    first 2,000 bytes is no longer JSON)."""
    try:
        return pretty(json.loads(text))
    except ValueError:
        return text


def duration(seconds: float) -> str:
    """`90061` → `1 d 1 h 1 min 1 s` (whole units only; under a second: `0 s`)."""
    left = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts) or "0 s"


def percent(basis_points: int | None) -> str:
    """Tax rates come in hundredths of a percent: 2500 is 25%."""
    if basis_points is None:
        return NONE
    whole, rest = divmod(basis_points, 100)
    return f"{whole}.{rest:02d}%".replace(".00%", "%")


FORMAT: Final[dict[str, Any]] = {
    "money": money,
    "duration": duration,
    "pretty_text": pretty_text,
    "when": when,
    "short": short,
    "iso": iso,
    "tone": tone,
    "label": label,
    "pretty": pretty,
    "percent": percent,
    "callback_name": callback_name,
}
