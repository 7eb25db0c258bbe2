"""Faults a merchant can ask for on its outgoing callbacks, to test its own idempotency.

Stored with the data (so every worker process sees them) per merchant:

- `drop`: the next N attempts are not sent, and are recorded as dropped;
- `timeout`: the next N attempts are recorded as timed out, without being sent;
- `duplicate`: the next N callbacks are sent twice in a row;
- `delay_ms`: every attempt waits this long before it is sent (until cleared).

`take` is how one callback's delivery uses them up: a dropped attempt uses up a `drop` and not a
`timeout` (it never got as far as timing out); a `duplicate` is used up by the callback it doubles
whatever happens to the first send; `delay_ms` is never used up.

Faults touch only their merchant: its callbacks go out on a lane of their own, so a delay holds up
only its own deliveries. Bounds (`check`): counts at most `MAX_COUNT`, and a delay below the
delivery lease (an attempt must be over before its claim frees itself).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from kco_sandbox.domain.checkout.order import Doc
from kco_sandbox.domain.errors import BadValue

DROPPED = "dropped (fault injection)"
TIMED_OUT = "timed out (fault injection)"
MAX_COUNT = 1000  # drops, time-outs or duplicates asked for at once
# A stored delay beyond this was never accepted by a bounded API (whatever its lease): cleared.
MAX_STORED_DELAY_MS = 3_600_000


class Faults(Doc):
    drop: int = 0
    timeout: int = 0
    duplicate: int = 0
    delay_ms: int = 0

    def is_clear(self) -> bool:
        return self == Faults()


@dataclass(frozen=True, slots=True)
class Taken:
    """What goes wrong with one callback's delivery: the faults it took."""

    drop: bool = False
    timeout: bool = False
    duplicate: bool = False  # the request is sent a second time, at once
    delay_ms: int = 0

    @property
    def error(self) -> str | None:
        """Why the attempt is recorded without being sent, or None when it is sent."""
        if self.drop:
            return DROPPED
        if self.timeout:
            return TIMED_OUT
        return None

    def second_send(self) -> Taken:
        """The faults of the duplicate: sent as it is, after the same delay (a flaky network
        repeats a request; it does not drop it again)."""
        return Taken(delay_ms=self.delay_ms)


def take(faults: Faults) -> tuple[Taken, Faults]:
    """One callback's share of `faults`, and the faults left for the next ones."""
    taken = Taken(
        drop=faults.drop > 0,
        timeout=faults.timeout > 0 and faults.drop == 0,
        duplicate=faults.duplicate > 0,
        delay_ms=faults.delay_ms,
    )
    left = Faults(
        drop=max(faults.drop - 1, 0),
        timeout=faults.timeout - 1 if taken.timeout else faults.timeout,
        duplicate=max(faults.duplicate - 1, 0),
        delay_ms=faults.delay_ms,
    )
    return taken, left


def check(faults: Faults, max_delay_ms: int) -> Faults:
    """`faults` if within bounds, else `BadValue` naming the first field out of them."""
    for name in ("drop", "timeout", "duplicate"):
        value = getattr(faults, name)
        if value < 0:
            raise BadValue(name, "counts and delays may not be negative")
        if value > MAX_COUNT:
            raise BadValue(name, f"at most {MAX_COUNT}")
    if faults.delay_ms < 0:
        raise BadValue("delay_ms", "counts and delays may not be negative")
    if faults.delay_ms > max_delay_ms:
        raise BadValue("delay_ms", f"must be below the delivery lease of {max_delay_ms + 1} ms")
    return faults


def state_key(merchant_id: str) -> str:
    return f"faults:{merchant_id}"


def decode(text: str | None) -> Faults:
    """The stored settings; settings that cannot be read (stored before the bounds existed, with
    numbers out of any range) count as cleared rather than failing every delivery."""
    if not text:
        return Faults()
    try:
        faults = msgspec.json.decode(text, type=Faults)
    except msgspec.DecodeError:  # a ValidationError too
        return Faults()
    counts = (faults.drop, faults.timeout, faults.duplicate)
    if (
        not all(0 <= n <= MAX_COUNT for n in counts)
        or not 0 <= faults.delay_ms <= MAX_STORED_DELAY_MS
    ):
        return Faults()
    return faults


def encode(faults: Faults) -> str:
    return msgspec.json.encode(faults).decode()
