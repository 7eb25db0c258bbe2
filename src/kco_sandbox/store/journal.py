"""The queries of a merchant's journal: its API calls and the platform's callbacks across all of
its orders (or one order's whole timeline), read a bounded page at a time.

The rows come from two tables, as in an order's timeline (`events.py`): the event log
(`order_events`: API calls, checkout callbacks, purchase outcomes) and the push and notification
attempts (`callback_attempts`). Neither has a merchant column: the log is joined to
`checkout_orders` and the attempts to `callbacks`, each filtered by the merchant, so a merchant
only ever reads its own rows. A page loads at most `limit` rows a table, but the database sorts
the merchant's matching rows to find them (some 20 ms for 100,000 on SQLite, 0.2 s with a JSON
filter): the web layer reads pages on a worker thread. A `merchant_id` column on both tables,
indexed with the time, would make a page cost the same whatever the merchant's history.

Two ways to read:
- `newest`: newest first by (time, source, row id), keyset from a position, each table at most
  `limit` rows; the journal's pages and the exports.
- `since`: rows written after a `Mark` (the highest row id of each table already sent), in
  insertion order; the live streams. Insertion order rather than time, because API calls are
  buffered and may be written after a callback attempt with a later time: a stream keyed by time
  would skip them.

`events.py` wraps these in `EventLog` methods; this module imports nothing from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import msgspec
from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Select,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)

from kco_sandbox.store.engine import Database, utc
from kco_sandbox.store.outbox import attempt_event
from kco_sandbox.store.tables import callback_attempts, callbacks, checkout_orders, order_events
from kco_sandbox.store.webhooks import WEBHOOK_BODY, with_event

# The sources, numbered as in `events.py`: the log before attempts at the same instant.
LOG: Final = 0
ATTEMPTS: Final = 1
KINDS: Final = ("all", "api", "callbacks", "everything")
# (time, source, row id): where a row sits in the journal's order.
Key = tuple[datetime, int, int]
_MARK = re.compile(r"^e(\d{1,18})\.a(\d{1,18})$")


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """What the journal shows. `kind`: "all" (API calls and callbacks), "api", "callbacks", or
    "everything" (an order's whole timeline, purchase outcomes included); `failed`: only answers
    of 400 or more, and callbacks that got no answer at all; `path`: contained in the call's path
    or the callback's URL, in any case; `order_id`: one order's rows only."""

    kind: str = "all"
    failed: bool = False
    path: str = ""
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    """How far a live stream has read: the highest row id of each table it has seen."""

    event_id: int
    attempt_id: int

    def encode(self) -> str:
        return f"e{self.event_id}.a{self.attempt_id}"

    @classmethod
    def decode(cls, text: str) -> Mark:
        found = _MARK.match(text)
        if found is None:
            raise ValueError("not a mark of this journal")
        return cls(int(found.group(1)), int(found.group(2)))


def latest(conn: Connection) -> Mark:
    """The highest row ids now: a stream that starts here shows only what comes after. Both are
    primary key look-ups, whoever the rows belong to."""
    event_id = conn.execute(select(func.max(order_events.c.event_id))).scalar()
    attempt_id = conn.execute(select(func.max(callback_attempts.c.attempt_id))).scalar()
    return Mark(int(event_id or 0), int(attempt_id or 0))


def newest(
    conn: Connection,
    db: Database,
    merchant_id: str,
    where: JournalFilter,
    limit: int,
    before: Key | None,
) -> list[tuple[Key, dict[str, Any]]]:
    """Up to `limit` rows of each table, newest first, that come after `before` in that order;
    the caller merges and cuts them to a page."""
    found: list[tuple[Key, dict[str, Any]]] = []
    logged = _log_query(db, merchant_id, where)
    if logged is not None:
        e = order_events.c
        condition = _before(db, LOG, e.at, e.event_id, before)
        if condition is not None:
            logged = logged.where(condition)
        rows = conn.execute(logged.order_by(e.at.desc(), e.event_id.desc()).limit(limit)).all()
        found += [_logged(row) for row in rows]
    attempted = _attempt_query(merchant_id, where)
    if attempted is not None:
        a = callback_attempts.c
        condition = _before(db, ATTEMPTS, a.started_at, a.attempt_id, before)
        if condition is not None:
            attempted = attempted.where(condition)
        order = (a.started_at.desc(), a.attempt_id.desc())
        rows = conn.execute(attempted.order_by(*order).limit(limit)).all()
        found += [_attempted(row) for row in rows]
    found.sort(key=lambda item: item[0], reverse=True)
    return found


def since(
    conn: Connection, db: Database, merchant_id: str, where: JournalFilter, mark: Mark, limit: int
) -> tuple[list[tuple[Key, dict[str, Any]]], Mark]:
    """Up to `limit` rows of each table written after `mark`, oldest first, and the mark after
    them. A table whose batch was short is read to the newest row id seen when the read began,
    so other merchants' and filtered-out rows are passed over once, not read again each poll."""
    top = latest(conn)  # first: a row written during the reads waits for the next poll
    found: list[tuple[Key, dict[str, Any]]] = []
    event_id, attempt_id = mark.event_id, mark.attempt_id
    logged = _log_query(db, merchant_id, where)
    e = order_events.c
    if logged is None:
        event_id = max(event_id, top.event_id)
    else:
        window = and_(e.event_id > mark.event_id, e.event_id <= top.event_id)
        rows = conn.execute(logged.where(window).order_by(e.event_id).limit(limit)).all()
        found += [_logged(row) for row in rows]
        event_id = rows[-1].event_id if len(rows) == limit else max(event_id, top.event_id)
    attempted = _attempt_query(merchant_id, where)
    a = callback_attempts.c
    if attempted is None:
        attempt_id = max(attempt_id, top.attempt_id)
    else:
        window = and_(a.attempt_id > mark.attempt_id, a.attempt_id <= top.attempt_id)
        rows = conn.execute(attempted.where(window).order_by(a.attempt_id).limit(limit)).all()
        found += [_attempted(row) for row in rows]
        attempt_id = rows[-1].attempt_id if len(rows) == limit else max(attempt_id, top.attempt_id)
    found.sort(key=lambda item: item[0])
    return found, Mark(event_id, attempt_id)


def _field(db: Database, name: str) -> ColumnElement[Any]:
    """A field of the event's JSON detail. PostgreSQL stores it as text: cast to read into it;
    SQLite reads JSON text as it is."""
    column = order_events.c.detail
    document = type_coerce(column, JSON) if db.is_sqlite else cast(column, JSON)
    return document[name]


def _log_query(db: Database, merchant_id: str, where: JournalFilter) -> Select[Any] | None:
    e = order_events.c
    if where.kind == "api":
        kinds: ColumnElement[bool] = e.kind == "api.call"
    elif where.kind == "callbacks":
        kinds = e.kind.like("callback.%")
    elif where.kind == "all":
        kinds = or_(e.kind == "api.call", e.kind.like("callback.%"))
    else:
        kinds = true()
    query = (
        select(e.event_id, e.order_id, e.at, e.kind, e.detail)
        .join(checkout_orders, checkout_orders.c.order_id == e.order_id)
        .where(checkout_orders.c.merchant_id == merchant_id, kinds)
    )
    if where.order_id is not None:
        query = query.where(e.order_id == where.order_id)
    if where.failed:
        status = _field(db, "status").as_integer()
        unanswered = and_(e.kind.like("callback.%"), status.is_(None))
        query = query.where(or_(status >= 400, unanswered))
    if where.path:
        target = func.coalesce(_field(db, "path").as_string(), _field(db, "url").as_string())
        query = query.where(target.icontains(where.path, autoescape=True))
    return query


def _attempt_query(merchant_id: str, where: JournalFilter) -> Select[Any] | None:
    if where.kind == "api":
        return None  # attempts are callbacks only
    a = callback_attempts.c
    query = (
        select(callback_attempts, callbacks.c.kind, callbacks.c.url, WEBHOOK_BODY)
        .join(callbacks, callbacks.c.callback_id == a.callback_id)
        .where(callbacks.c.merchant_id == merchant_id)
    )
    if where.order_id is not None:
        query = query.where(a.order_id == where.order_id)
    if where.failed:
        query = query.where(or_(a.status_code >= 400, a.status_code.is_(None)))
    if where.path:
        query = query.where(callbacks.c.url.icontains(where.path, autoescape=True))
    return query


def _before(
    db: Database, source: int, at_column: Any, id_column: Any, before: Key | None
) -> ColumnElement[bool] | None:
    """The keyset condition for the rows of `source` that come after `before`, newest first:
    the mirror of `EventLog._after`."""
    if before is None:
        return None
    at_value, before_source, row_id = before
    at = db.time(at_value)
    if source < before_source:
        return at_column <= at  # type: ignore[no-any-return]
    if source > before_source:
        return at_column < at  # type: ignore[no-any-return]
    return tuple_(at_column, id_column) < tuple_(literal(at), literal(row_id))


def _logged(row: Any) -> tuple[Key, dict[str, Any]]:
    at = utc(row.at)
    detail = msgspec.json.decode(row.detail)
    event = {
        **(detail if isinstance(detail, dict) else {}),
        "at": at,
        "kind": row.kind,
        "id": f"e{row.event_id}",
        "order_id": row.order_id,
    }
    return (at, LOG, row.event_id), event


def _attempted(row: Any) -> tuple[Key, dict[str, Any]]:
    event = {
        **with_event(attempt_event(row), row),
        "id": f"a{row.attempt_id}",
        "order_id": row.order_id,
    }
    return (utc(row.started_at), ATTEMPTS, row.attempt_id), event
