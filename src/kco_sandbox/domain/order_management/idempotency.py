"""What a repeated `Klarna-Idempotency-Key` answers: the first call's operation and what it made.

The first successful change under a key is remembered as a `Replay`: the operation, the order it
acted on and the id of what it created (a capture or a refund), if anything. Every later call
with the key, whatever its body and path, answers from this record and changes nothing. How that
becomes an HTTP reply is the web layer's business (`web/api/order_management.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kco_sandbox.domain.order_management.lifecycle import OmAction

# How storage writes an operation it cannot name: keys carried over from before migration 0005
# (which kept only the HTTP answer) that created nothing. They replay as a change that created
# nothing, which is what they answered.
UNKNOWN_OPERATION: Final = "unknown"


@dataclass(frozen=True, slots=True)
class Replay:
    """The first successful answer to an idempotency key, in domain terms."""

    operation: OmAction | None  # None: carried over from before migration 0005, made nothing
    # None only on keys carried over by migration 0005 that did not say (a reply then uses the
    # repeat's order id)
    order_id: str | None
    created_id: str | None = None  # the capture id or refund id the operation made

    @property
    def capture_id(self) -> str | None:
        return self.created_id if self.operation is OmAction.CAPTURE else None

    @property
    def refund_id(self) -> str | None:
        return self.created_id if self.operation is OmAction.REFUND else None
