"""Test personas: what the shopper's e-mail address decides, by the vendor's playground rules.

| e-mail                            | outcome                                                |
|-----------------------------------|--------------------------------------------------------|
| `name@domain`                     | approved                                               |
| `name+denied@domain`              | denied: the order stays `checkout_incomplete`          |
| `name+require_signup@domain`      | approved after the sign-up step                        |
| `name+pend-accept-NN@domain`      | completes with fraud status PENDING, accepted NN min later |
| `name+pend-reject-NN@domain`      | completes with fraud status PENDING, rejected NN min later |

The one-time code of the sign-up step accepts any six digits except `999999`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final


class Outcome(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    REQUIRE_SIGNUP = "require_signup"
    PENDING_ACCEPT = "pend-accept"
    PENDING_REJECT = "pend-reject"


@dataclass(frozen=True, slots=True)
class Persona:
    email: str
    outcome: Outcome
    decision_after: timedelta | None = None  # for the pending outcomes

    @property
    def is_pending(self) -> bool:
        return self.outcome in (Outcome.PENDING_ACCEPT, Outcome.PENDING_REJECT)


DEFAULT_EMAIL: Final = "customer@example.com"
_TAG = re.compile(r"\+(?P<tag>[^@]+)@")
_PENDING = re.compile(r"pend-(?P<decision>accept|reject)-(?P<minutes>\d{2})")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def persona_for(email: str) -> Persona:
    """The persona an e-mail address stands for (an untagged address is an approved shopper)."""
    match = _TAG.search(email)
    tag = match.group("tag").lower() if match else ""
    if tag == "denied":
        return Persona(email, Outcome.DENIED)
    if tag == "require_signup":
        return Persona(email, Outcome.REQUIRE_SIGNUP)
    pending = _PENDING.fullmatch(tag)
    if pending:
        outcome = (
            Outcome.PENDING_ACCEPT
            if pending.group("decision") == "accept"
            else Outcome.PENDING_REJECT
        )
        return Persona(email, outcome, timedelta(minutes=int(pending.group("minutes"))))
    return Persona(email, Outcome.APPROVED)


def one_time_code_passes(code: str) -> bool:
    return len(code) == 6 and code.isdigit() and code != "999999"
