"""What a repeated `Klarna-Idempotency-Key` answers: the first call's operation and what it made.

The first successful change under a key is remembered as a `Replay`: the operation, the order it
acted on and the id of what it created (a capture or a refund), if anything. A key is scoped to
the operation it was used on: its `scope` is the operation and the ids in its path (the order,
and the capture for a capture-level operation), so one scope is one vendor route on one order.
A later call with the key in the same scope, whatever its body, answers from this record and
changes nothing; the same key on another operation, order or capture is a new key. How a replay
becomes an HTTP reply is the web layer's business (`web/api/order_management.py`).

Keys stored before migration 0006 did not all record enough to be scoped exactly: 0006 gave the
ones it could not place a broader scope (`scopes_answering` lists what may answer a call), so
they answer what they answered before, and only they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kco_sandbox.domain.order_management.lifecycle import OmAction

# How storage writes an operation it cannot name: keys carried over from before migration 0005
# (which kept only the HTTP answer) that created nothing. They replay as a change that created
# nothing, which is what they answered.
UNKNOWN_OPERATION: Final = "unknown"


# The broadest scope, given by migration 0006 to keys carried over from before 0005 that named no
# operation and no order: they answer any call with their key, as they did before.
ANY_SCOPE: Final = "*"


def scope(operation: OmAction | str, order_id: str | None, capture_id: str | None = None) -> str:
    """The scope of a key used on `operation` on `order_id` (and `capture_id`, if capture-level).

    `None` for the order (only on carried-over keys) is the order-wide `*`.
    """
    parts = [str(operation), order_id or ANY_SCOPE]
    if capture_id is not None:
        parts.append(capture_id)
    return " ".join(parts)


def scopes_answering(
    operation: OmAction, order_id: str, capture_id: str | None = None
) -> tuple[str, ...]:
    """The scopes whose keys answer a call, the call's own first, then those of carried-over
    keys that could not be scoped exactly (migration 0006)."""
    exact = scope(operation, order_id, capture_id)
    broader = [scope(operation, order_id)] if capture_id is not None else []
    return (exact, *broader, scope(operation, None), ANY_SCOPE)


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
