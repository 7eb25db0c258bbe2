"""Faults a merchant can ask for on its outgoing callbacks, to test its own idempotency.

Stored with the data (so every worker process sees them) per merchant:

- `drop`: the next N attempts are not sent, and are recorded as dropped;
- `timeout`: the next N attempts are recorded as timed out, without being sent;
- `duplicate`: the next N callbacks are sent twice in a row;
- `delay_ms`: every attempt waits this long before it is sent (until cleared).
"""

from __future__ import annotations

import msgspec

from kco_sandbox.domain.checkout.order import Doc


class Faults(Doc):
    drop: int = 0
    timeout: int = 0
    duplicate: int = 0
    delay_ms: int = 0

    def is_clear(self) -> bool:
        return self == Faults()


def state_key(merchant_id: str) -> str:
    return f"faults:{merchant_id}"


def decode(text: str | None) -> Faults:
    return msgspec.json.decode(text, type=Faults) if text else Faults()


def encode(faults: Faults) -> str:
    return msgspec.json.encode(faults).decode()
