"""Webhooks: the event types, a merchant's destinations, and the event envelope on the wire.

A destination is where a merchant wants events sent: a name, a URL, the event types it listens
to (or every type, `ALL_EVENTS`, which includes types added later) and its signing secret. Each
event a merchant's write causes is one envelope (`{id, merchant_id, timestamp, type, data}`,
the ids of what happened and nothing more), delivered to every destination listening to its
type, signed with that destination's secret (`webhook_signature.py`).

The rules here decide what a destination may hold (`check_destination`); storing it, queueing
deliveries and signing them at each attempt happen in the store and the services.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

import msgspec

from kco_sandbox.domain.callback_hosts import target_of
from kco_sandbox.domain.errors import BadValue


class EventType(StrEnum):
    ORDER_CREATED = "order.created"
    CAPTURE_CREATED = "capture.created"
    REFUND_CREATED = "refund.created"
    DISPUTE_CREATED = "dispute.created"
    DISPUTE_UPDATED = "dispute.updated"


# The type of the sandbox's "send test event": not one a destination subscribes to (every
# destination receives its own test event when asked), and not one the vendor documents.
TEST_EVENT: Final = "webhook.test"
# "Select all events": every type, those added later included.
ALL_EVENTS: Final = "*"
EVENT_TYPES: Final = tuple(t.value for t in EventType)

MAX_NAME = 100  # characters of a destination's name
MAX_URL = 2000  # characters of its URL


@dataclass(frozen=True, slots=True)
class Destination:
    """One of a merchant's webhook destinations, with its signing secrets.

    `previous_secret` still signs, beside `secret`, until `previous_until` (on the merchant's
    clock): a receiver that has not yet taken the new secret keeps verifying for that window.
    """

    destination_id: str
    merchant_id: str
    name: str
    url: str
    events: tuple[str, ...]  # event types, or (ALL_EVENTS,)
    secret: str
    created_at: datetime
    previous_secret: str | None = None
    previous_until: datetime | None = None

    def listens_to(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events

    def signing_secrets(self, at: datetime) -> tuple[str, ...]:
        """The secrets that sign an attempt at `at`: the current one, then the previous one
        while its window lasts."""
        if (
            self.previous_secret is not None
            and self.previous_until is not None
            and at < self.previous_until
        ):
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def rotated(self, secret: str, at: datetime, window: timedelta) -> Destination:
        """This destination with `secret` as its current secret from `at`; the one it replaces
        signs too for `window`. A secret replaced before its own window ended stops signing."""
        return Destination(
            destination_id=self.destination_id,
            merchant_id=self.merchant_id,
            name=self.name,
            url=self.url,
            events=self.events,
            secret=secret,
            created_at=self.created_at,
            previous_secret=self.secret if window > timedelta(0) else None,
            previous_until=at + window if window > timedelta(0) else None,
        )


@dataclass(frozen=True, slots=True)
class NewDestination:
    """A destination as a merchant asks for it, checked (`check_destination`)."""

    name: str
    url: str
    events: tuple[str, ...]


def check_destination(
    name: object, url: object, events: object, allow_http: bool
) -> NewDestination:
    """The destination asked for, or `BadValue` naming the first field that is wrong.

    `name`: 1 to 100 characters. `url`: an absolute http(s) URL with a host, at most 2000
    characters (https only when `allow_http` is off, as for the checkout's callback URLs).
    `events`: a non-empty list of known event types, or `["*"]` for every type.
    """
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise BadValue("name", f"1 to {MAX_NAME} characters")
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise BadValue("url", f"an absolute URL of at most {MAX_URL} characters")
    schemes = ("http", "https") if allow_http else ("https",)
    if urlsplit(url).scheme.lower() not in schemes or target_of(url) is None:
        raise BadValue("url", "an absolute " + " or ".join(schemes) + " URL with a host")
    return NewDestination(name.strip(), url, check_events(events))


def check_events(events: object) -> tuple[str, ...]:
    """Known event types, each once, in the catalogue's order; `("*",)` for every type."""
    if not isinstance(events, list) or not events or len(events) > len(EVENT_TYPES) + 1:
        raise BadValue("events", 'a non-empty list of event types, or ["*"] for all')
    for event in events:
        if event != ALL_EVENTS and event not in EVENT_TYPES:
            raise BadValue("events", "the types are " + ", ".join(EVENT_TYPES) + ", or *")
    if ALL_EVENTS in events:
        return (ALL_EVENTS,)
    return tuple(t for t in EVENT_TYPES if t in events)


# The envelope

_BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
EVENT_ID_PREFIX: Final = "kevt_"
EVENT_ID_LENGTH: Final = 22  # base62 digits: enough for 128 bits


def event_id(number: int) -> str:
    """`kevt_` + `number` (0 to 2**128 - 1) in 22 base62 digits."""
    if not 0 <= number < 2**128:
        raise ValueError("an event id is a 128-bit number")
    digits = []
    for _ in range(EVENT_ID_LENGTH):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return EVENT_ID_PREFIX + "".join(reversed(digits))


def event_time(at: datetime) -> str:
    """RFC 3339 in UTC with nine fractional digits, as the vendor writes them (our clocks keep
    microseconds, so the last three digits are 0)."""
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond:06d}000Z"


@dataclass(frozen=True, slots=True)
class Event:
    """One event: what happened (`type`, the ids in `data`), to whom, and when."""

    event_id: str
    merchant_id: str
    at: datetime
    type: str
    data: Mapping[str, str | None]

    def body(self) -> bytes:
        """The envelope as sent: compact JSON, keys in the vendor's order."""
        return msgspec.json.encode(
            {
                "id": self.event_id,
                "merchant_id": self.merchant_id,
                "timestamp": event_time(self.at),
                "type": self.type,
                "data": dict(self.data),
            }
        )


def event_id_of(body: bytes) -> str:
    """The event id of a queued envelope (the `webhook-id` of each of its attempts)."""
    envelope = msgspec.json.decode(body)
    if not isinstance(envelope, dict) or not isinstance(envelope.get("id"), str):
        raise ValueError("not a webhook envelope")
    return str(envelope["id"])


def listening(destinations: Sequence[Destination], event_type: str) -> list[Destination]:
    return [d for d in destinations if d.listens_to(event_type)]
