"""Disputes, as far as the sandbox has them: something to raise `dispute.*` webhook events with.

The vendor's disputes are a Portal feature this sandbox does not emulate; a test opens one on an
order and moves it between statuses through the sandbox API, and each change is a webhook event.
The statuses are our own names for the Portal's tabs (response required, under review, closed),
with the two ends a closed dispute can have.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kco_sandbox.domain.errors import BadValue

MAX_DISPUTES_PER_ORDER = 20


class DisputeStatus(StrEnum):
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Dispute:
    dispute_id: str
    order_id: str
    merchant_id: str
    status: DisputeStatus
    created_at: datetime
    updated_at: datetime


def check_status(status: object, default: DisputeStatus | None = None) -> DisputeStatus:
    """`status` as a `DisputeStatus` (`default` when None is given), else `BadValue`."""
    if status is None and default is not None:
        return default
    try:
        return DisputeStatus(status) if isinstance(status, str) else DisputeStatus("")
    except ValueError:
        raise BadValue("status", "one of " + ", ".join(s.value for s in DisputeStatus)) from None
