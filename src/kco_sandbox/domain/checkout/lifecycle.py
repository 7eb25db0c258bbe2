"""The checkout order's lifecycle: which merchant actions each status allows, as one table.

The wire shows only `checkout_incomplete` and `checkout_complete` (the vendor's SDKs know no other
value); an aborted order is read as `checkout_incomplete` but is read-only, like a completed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from kco_sandbox.domain.errors import ReadOnlyOrder


class CheckoutStatus(StrEnum):
    CHECKOUT_INCOMPLETE = "checkout_incomplete"
    CHECKOUT_COMPLETE = "checkout_complete"
    ABORTED = "aborted"


class Action(StrEnum):
    READ = "read"
    UPDATE = "update"
    ABORT = "abort"
    COMPLETE = "complete"


ALLOWED: Final[Mapping[Action, frozenset[CheckoutStatus]]] = {
    Action.READ: frozenset(CheckoutStatus),
    Action.UPDATE: frozenset({CheckoutStatus.CHECKOUT_INCOMPLETE}),
    Action.ABORT: frozenset({CheckoutStatus.CHECKOUT_INCOMPLETE}),
    Action.COMPLETE: frozenset({CheckoutStatus.CHECKOUT_INCOMPLETE}),
}

# Orders in these statuses disappear when their lifetime ends (48 hours after the last change).
EXPIRES: Final[frozenset[CheckoutStatus]] = frozenset(
    {CheckoutStatus.CHECKOUT_INCOMPLETE, CheckoutStatus.ABORTED}
)

WIRE_STATUS: Final[Mapping[CheckoutStatus, str]] = {
    CheckoutStatus.CHECKOUT_INCOMPLETE: "checkout_incomplete",
    CheckoutStatus.CHECKOUT_COMPLETE: "checkout_complete",
    CheckoutStatus.ABORTED: "checkout_incomplete",
}


def require(action: Action, status: CheckoutStatus) -> None:
    """Raise the vendor's error when `action` is not allowed in `status`."""
    if status not in ALLOWED[action]:
        raise ReadOnlyOrder()
