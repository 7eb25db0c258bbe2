"""Faults a merchant can ask for on its outgoing callbacks, to test its own idempotency.

Stored with the data (so every worker process sees them) per merchant:

- `drop`: the next N attempts are not sent, and are recorded as dropped;
- `timeout`: the next N attempts are recorded as timed out, without being sent;
- `duplicate`: the next N callbacks are sent twice in a row;
- `delay_ms`: every attempt waits this long before it is sent (until cleared).

`take` is how one callback's delivery uses them up: a dropped attempt uses up a `drop` and not a
`timeout` (it never got as far as timing out); a `duplicate` is used up by the callback it doubles
whatever happens to the first send; `delay_ms` is never used up.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from kco_sandbox.domain.checkout.order import Doc

DROPPED = "dropped (fault injection)"
TIMED_OUT = "timed out (fault injection)"


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


def state_key(merchant_id: str) -> str:
    return f"faults:{merchant_id}"


def decode(text: str | None) -> Faults:
    return msgspec.json.decode(text, type=Faults) if text else Faults()


def encode(faults: Faults) -> str:
    return msgspec.json.encode(faults).decode()
