"""The merchant's journal: every API call its integration made and every callback the platform
made, across its orders; and one order's whole timeline. For the portal's journal page, its
exports (JSON and HAR) and its live streams.

A merchant only ever sees its own rows: every store query filters by the merchant
(`store/journal.py`). Everything is bounded: a page is `PAGE` entries, an export `EXPORT_CAP`,
a live poll `LIVE_BATCH` a table. Callback URLs are shown as they are logged elsewhere, without
user name, password, query or fragment (`delivery.without_query`): merchants put secrets there.

Only reads, except `flush`: API calls are buffered (`store/events.py`); a caller that wants the
latest in writes them first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from kco_sandbox.domain.errors import BadValue, NotFound
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.services.delivery import without_query
from kco_sandbox.store import Store
from kco_sandbox.store.events import Cursor
from kco_sandbox.store.journal import KINDS, JournalFilter, Mark

__all__ = ["EXPORT_CAP", "Entry", "Export", "JournalFilter", "JournalPage", "JournalService"]

PAGE: Final = 100
EXPORT_CAP: Final = 10_000
LIVE_BATCH: Final = 100
PATH_MAX: Final = 200  # characters of a "path contains" filter
# What an entry's own fields already say: not repeated in its `detail`.
_OWN: Final = frozenset(
    {"id", "at", "kind", "order_id", "method", "path", "url", "status", "error", "duration_ms"}
    | {"correlation_id"}
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of the journal or an order's timeline."""

    id: str  # "e" + event log row id, or "a" + callback attempt row id
    at: datetime
    order_id: str
    kind: str  # "api" (the merchant's call), "callback" (ours to the merchant), "event"
    type: str  # as logged: "api.call", "callback.validation", "push.attempt", "purchase.completed"
    method: str | None
    target: str | None  # the call's path, or the callback's URL without userinfo and query
    status: int | None  # None: no answer (see `error`), or not an HTTP exchange
    error: str | None
    duration_ms: float | None  # API calls have none recorded
    correlation_id: str | None
    detail: dict[str, Any]  # the rest as logged (a checkout callback's request and answer, ...)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso_time(self.at),
            "order_id": self.order_id,
            "kind": self.kind,
            "type": self.type,
            "method": self.method,
            "target": self.target,
            "status": self.status,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "correlation_id": self.correlation_id,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class JournalPage:
    entries: list[Entry]  # newest first
    next: str | None  # the cursor of the next (older) page; None after the last
    mark: str  # where a live stream of what comes after this page starts


@dataclass(frozen=True, slots=True)
class Export:
    entries: list[Entry]  # oldest first
    truncated: bool  # there were more than the cap: these are the newest


def iso_time(at: datetime) -> str:
    """`2026-12-01T19:50:35.123Z`: milliseconds, UTC, as HAR and browsers read it."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def journal_filter(kind: str | None, failed: bool, path: str | None) -> JournalFilter:
    """The page's filters as given; an unknown kind is every call and callback."""
    chosen = kind if kind in KINDS and kind != "everything" else "all"
    return JournalFilter(kind=chosen, failed=failed, path=(path or "").strip()[:PATH_MAX])


def entry(event: dict[str, Any]) -> Entry:
    """An event as the store gives it (`{"id", "order_id", "at", "kind", **detail}`)."""
    logged = str(event["kind"])
    detail = {key: value for key, value in event.items() if key not in _OWN}
    status = event.get("status")
    duration = event.get("duration_ms")
    url = event.get("url")
    if logged == "api.call":
        kind, method, target = "api", event.get("method"), event.get("path")
    elif logged.startswith("callback.") or logged.endswith(".attempt"):
        kind, method = "callback", "POST"  # every callback of the platform is a POST
        target = without_query(url) if isinstance(url, str) else None
    else:
        kind, method, target = "event", None, None
    return Entry(
        id=str(event["id"]),
        at=event["at"],
        order_id=str(event["order_id"]),
        kind=kind,
        type=logged,
        method=str(method) if method is not None else None,
        target=str(target) if target is not None else None,
        status=status if isinstance(status, int) else None,
        error=str(event["error"]) if event.get("error") is not None else None,
        duration_ms=float(duration) if isinstance(duration, int | float) else None,
        correlation_id=event.get("correlation_id"),
        detail=detail,
    )


@dataclass(frozen=True, slots=True)
class JournalService:
    store: Store

    def flush(self) -> None:
        """Write the buffered API calls (a write), so a read that follows sees them."""
        self.store.events.flush()

    def page(
        self, merchant: Merchant, where: JournalFilter, after: str | None, limit: int = PAGE
    ) -> JournalPage:
        """A page of the merchant's journal, newest first, after the cursor `after`."""
        try:
            cursor = Cursor.decode(after) if after else None
        except ValueError:
            raise BadValue("after", "not a cursor this journal gave") from None
        # The mark is read first: a row written meanwhile is then on the page and in the stream
        # (the page shows it once, by id) rather than in neither.
        mark = self.store.events.journal_mark()
        found = self.store.events.journal(merchant.merchant_id, where, limit, cursor)
        next_page = found.next.encode() if found.next is not None else None
        return JournalPage([entry(event) for event in found.events], next_page, mark.encode())

    def export(self, merchant: Merchant, where: JournalFilter, cap: int = EXPORT_CAP) -> Export:
        """The newest `cap` entries `where` picks, oldest first."""
        found = self.store.events.journal(merchant.merchant_id, where, cap, None)
        entries = [entry(event) for event in reversed(found.events)]
        return Export(entries, truncated=found.next is not None)

    def order_timeline(self, merchant: Merchant, order_id: str, cap: int = EXPORT_CAP) -> Export:
        """The order's whole timeline (calls, callbacks, purchase outcomes), oldest first."""
        self.check_order(merchant, order_id)
        return self.export(merchant, order_only(order_id), cap)

    def check_order(self, merchant: Merchant, order_id: str) -> None:
        """`NotFound` unless the order is the merchant's."""
        record = self.store.checkouts.get(order_id)
        if record is None or record.merchant_id != merchant.merchant_id:
            raise NotFound(f"Order {order_id} not found")

    def mark(self) -> str:
        return self.store.events.journal_mark().encode()

    def since(
        self, merchant: Merchant, where: JournalFilter, mark: str | None, limit: int = LIVE_BATCH
    ) -> tuple[list[Entry], str]:
        """What was written after `mark` (now, if None or not a mark), oldest first, and the
        mark to ask from next."""
        try:
            start = Mark.decode(mark) if mark else self.store.events.journal_mark()
        except ValueError:
            start = self.store.events.journal_mark()
        events, after = self.store.events.journal_since(merchant.merchant_id, where, start, limit)
        return [entry(event) for event in events], after.encode()


def order_only(order_id: str) -> JournalFilter:
    """Everything recorded on one order."""
    return JournalFilter(kind="everything", order_id=order_id)
