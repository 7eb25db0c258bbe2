"""Webhook destinations, and the fan-out of an event into one outbox delivery per destination.

`emit_on` is what a write path calls, inside its own transaction, when something a webhook
reports happens (an order opened, a capture, a refund, a dispute): it reads the merchant's
destinations listening to the event's type and queues one `webhook` callback for each (its
`target` the destination id), the envelope frozen as its body. So an event is sent only if the
write that caused it commits, and each destination gets its own delivery and schedule. With no
destination it costs one indexed read.

The event id (`kevt_…`) is one per event, the same for every destination and every retry: it is
the `webhook-id` receivers deduplicate on. Ids come from injected factories.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Label, bindparam, case, delete, func, insert, select, update

from kco_sandbox.domain.delivery import Callback, CallbackKind
from kco_sandbox.domain.webhook import ALL_EVENTS, Destination, Event, event_id
from kco_sandbox.ids import IdFactory, new_uuid
from kco_sandbox.store.engine import Database, utc
from kco_sandbox.store.outbox import Outbox
from kco_sandbox.store.tables import callback_attempts, callbacks, merchants, webhook_destinations

# Test events kept per destination (with their attempts): sending one more drops the oldest.
# A test event belongs to no order, so retention (which goes by order) would never remove it.
MAX_TEST_EVENTS = 50

_LISTENERS = (
    select(
        webhook_destinations.c.destination_id,
        webhook_destinations.c.url,
        webhook_destinations.c.events,
    )
    .where(webhook_destinations.c.merchant_id == bindparam("the_merchant"))
    .order_by(webhook_destinations.c.created_at, webhook_destinations.c.destination_id)
)


# A webhook's envelope beside its attempts in a timeline or the journal (NULL for other kinds):
# what `with_event` reads the event's type and id from.
WEBHOOK_BODY: Label[str | None] = case(
    (callbacks.c.kind == CallbackKind.WEBHOOK.value, callbacks.c.body), else_=None
).label("webhook_body")


def with_event(attempt: dict[str, Any], row: Any) -> dict[str, Any]:
    """`attempt` (a timeline entry), with `event_type` and `event_id` for a webhook's."""
    body = getattr(row, "webhook_body", None)
    if body:
        envelope = msgspec.json.decode(body)
        if isinstance(envelope, dict):
            attempt["event_type"] = envelope.get("type")
            attempt["event_id"] = envelope.get("id")
    return attempt


def random_event_id() -> str:
    """A fresh `kevt_` id: 128 random bits in base62."""
    return event_id(secrets.randbits(128))


class Webhooks:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        new_event_id: IdFactory = random_event_id,
        new_id: IdFactory = new_uuid,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.new_event_id = new_event_id  # injectable: tests pin ids
        self.new_id = new_id

    # Destinations

    def add(self, destination: Destination, limit: int) -> bool:
        """Store `destination`; False (nothing stored) if its merchant has `limit` already."""
        with self.db.write() as conn:
            # Two creations racing on PostgreSQL queue on the merchant's row, so the count holds.
            conn.execute(
                select(merchants.c.merchant_id)
                .where(merchants.c.merchant_id == destination.merchant_id)
                .with_for_update()
            )
            count = conn.execute(
                select(func.count()).where(
                    webhook_destinations.c.merchant_id == destination.merchant_id
                )
            ).scalar()
            if int(count or 0) >= limit:
                return False
            conn.execute(insert(webhook_destinations), self._values(destination))
        return True

    def get(self, destination_id: str) -> Destination | None:
        if not destination_id.isprintable() or len(destination_id) > 36:
            return None  # no id holds these, and PostgreSQL refuses a NUL
        with self.db.read() as conn:
            row = conn.execute(
                select(webhook_destinations).where(
                    webhook_destinations.c.destination_id == destination_id
                )
            ).first()
        return _destination(row) if row is not None else None

    def of_merchant(self, merchant_id: str) -> list[Destination]:
        """The merchant's destinations, oldest first (bounded by the per-merchant limit)."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(webhook_destinations)
                .where(webhook_destinations.c.merchant_id == merchant_id)
                .order_by(webhook_destinations.c.created_at, webhook_destinations.c.destination_id)
            ).all()
        return [_destination(row) for row in rows]

    def delete(self, merchant_id: str, destination_id: str) -> bool:
        """Remove the merchant's destination; its queued deliveries stop at their next attempt
        (the signer finds no destination)."""
        with self.db.write() as conn:
            gone = conn.execute(
                delete(webhook_destinations).where(
                    webhook_destinations.c.merchant_id == merchant_id,
                    webhook_destinations.c.destination_id == destination_id,
                )
            ).rowcount
            if gone:  # its test events go with it (they belong to no order)
                _drop_tests(conn, destination_id, keep=0)
        return bool(gone)

    def save_secrets(self, rotated: Destination, expected_secret: str) -> bool:
        """Write `rotated`'s secrets if the destination still has `expected_secret` (two
        rotations racing: one wins, the other is told to try again)."""
        with self.db.write() as conn:
            changed = conn.execute(
                update(webhook_destinations)
                .where(
                    webhook_destinations.c.destination_id == rotated.destination_id,
                    webhook_destinations.c.secret == expected_secret,
                )
                .values(
                    secret=rotated.secret,
                    previous_secret=rotated.previous_secret,
                    previous_until=self.db.time(rotated.previous_until),
                )
            ).rowcount
        return bool(changed)

    # Events

    def emit_on(
        self,
        conn: Connection,
        merchant_id: str,
        event_type: str,
        data: Mapping[str, str | None],
        at: datetime,
    ) -> int:
        """Queue `event_type` (with `data`, at `at` on the merchant's clock) for each of the
        merchant's destinations listening to it, inside the caller's transaction; how many."""
        listening = [
            row
            for row in conn.execute(_LISTENERS, {"the_merchant": merchant_id})
            if _listens(row.events, event_type)
        ]
        if not listening:
            return 0
        event = Event(self.new_event_id(), merchant_id, at, event_type, data)
        order_id = data.get("order_id") or ""
        for row in listening:
            self._queue_on(conn, event, order_id, row.destination_id, row.url)
        return len(listening)

    def send_test(self, destination: Destination, event: Event) -> str:
        """Queue `event` for `destination` alone, in a transaction of its own; the callback id.

        A test event is about no order: its deliveries are filed under the destination's id, so
        they show in the journal (and in `attempts_for(destination_id)`)."""
        with self.db.write() as conn:
            _drop_tests(conn, destination.destination_id, keep=MAX_TEST_EVENTS - 1)
            return self._queue_on(
                conn, event, destination.destination_id, destination.destination_id, destination.url
            )

    def _queue_on(
        self, conn: Connection, event: Event, order_id: str, destination_id: str, url: str
    ) -> str:
        callback_id = self.new_id()
        callback = Callback(
            callback_id=callback_id,
            order_id=order_id,
            merchant_id=event.merchant_id,
            kind=CallbackKind.WEBHOOK,
            url=url,
            body=event.body(),
            starts_at=event.at,
            next_attempt_at=event.at,
            target=destination_id,
        )
        self.outbox.enqueue_on(conn, callback, event.at)
        return callback_id

    def _values(self, d: Destination) -> dict[str, Any]:
        return {
            "destination_id": d.destination_id,
            "merchant_id": d.merchant_id,
            "name": d.name,
            "url": d.url,
            "events": json.dumps(list(d.events)),
            "secret": d.secret,
            "previous_secret": d.previous_secret,
            "previous_until": self.db.time(d.previous_until),
            "created_at": self.db.time(d.created_at),
        }


def _drop_tests(conn: Connection, destination_id: str, keep: int) -> None:
    """Delete the destination's test events (filed under its id) but the newest `keep`, with
    their attempts. One still queued goes too: a worker holding it records its attempt on no
    callback, as when retention removes an order's."""
    doomed = (
        conn.execute(
            select(callbacks.c.callback_id)
            .where(callbacks.c.order_id == destination_id)
            .order_by(callbacks.c.created_at.desc(), callbacks.c.callback_id.desc())
            .offset(keep)
        )
        .scalars()
        .all()
    )
    if doomed:
        conn.execute(delete(callback_attempts).where(callback_attempts.c.callback_id.in_(doomed)))
        conn.execute(delete(callbacks).where(callbacks.c.callback_id.in_(doomed)))


def _listens(events_json: str, event_type: str) -> bool:
    events = json.loads(events_json)
    return ALL_EVENTS in events or event_type in events


def _destination(row: Any) -> Destination:
    return Destination(
        destination_id=row.destination_id,
        merchant_id=row.merchant_id,
        name=row.name,
        url=row.url,
        events=tuple(json.loads(row.events)),
        secret=row.secret,
        created_at=utc(row.created_at),
        previous_secret=row.previous_secret,
        previous_until=utc(row.previous_until) if row.previous_until is not None else None,
    )
