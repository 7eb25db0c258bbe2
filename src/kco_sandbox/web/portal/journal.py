"""The journal page, `GET /portal/journal`: every API call the merchant's integration made and
every callback the platform made to it, across its orders, newest first, 100 a page.

Filters (query parameters, so a filtered view is a link to share): `kind` (`all`, `api`,
`callbacks`), `failed=1` (answers of 400 or more, and callbacks that got none), `path` (contained
in the path or callback URL). `after` is the cursor of the next (older) page. The first page
carries a live stream of new rows (`live.py`, `static/portal-live.js`); without JavaScript its
"Reload" link does the same.

`row` turns an entry into what a table row shows; the order page's timeline may use it too.
"""

from __future__ import annotations

from datetime import UTC
from functools import partial
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from anyio.to_thread import run_sync
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kco_sandbox.domain.errors import BadValue
from kco_sandbox.services.journal import Entry, JournalFilter, iso_time, journal_filter
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.portal.formatting import callback_name
from kco_sandbox.web.portal.render import page
from kco_sandbox.web.portal.routes import signed_in

KIND_CHOICES = (
    ("all", "API calls and callbacks"),
    ("api", "API calls"),
    ("callbacks", "Callbacks"),
)


def filters_of(request: Request) -> JournalFilter:
    params = request.query_params
    return journal_filter(params.get("kind"), params.get("failed") == "1", params.get("path"))


def filter_query(where: JournalFilter, **extra: str) -> str:
    """The query string that asks for `where` again (defaults left out), plus `extra`."""
    params = {"kind": where.kind} if where.kind != "all" else {}
    if where.failed:
        params["failed"] = "1"
    if where.path:
        params["path"] = where.path
    params.update(extra)
    return urlencode(params)


def status_text(status: int | None, error: str | None) -> str:
    """`404 Not Found`, `no answer: timed out`, or `—`: a status is never told by colour alone."""
    if status is not None:
        try:
            return f"{status} {HTTPStatus(status).phrase}"
        except ValueError:
            return str(status)
    if error:
        return f"no answer: {error}"
    return "—"


def status_class(status: int | None, error: str | None) -> str:
    """The badge colour, the same rule as `portal-live.js` `statusClass`."""
    if status is None:
        return "bad" if error else "neutral"
    if status < 300:
        return "ok"
    if status < 400:
        return "info"
    return "warn" if status < 500 else "bad"


def kind_label(item: Entry) -> str:
    if item.kind == "api":
        return "API call"
    if item.type.startswith("callback."):
        return "Callback: " + item.type.removeprefix("callback.").replace("_", " ")
    if item.type.endswith(".attempt"):
        label = callback_name(item.type.removesuffix(".attempt"))
        event_type = item.detail.get("event_type")  # a webhook's: which event it carried
        return f"{label}: {event_type}" if event_type else label
    # The rest as the order page names them (its live rows must read the same after a reload).
    if item.type.startswith("purchase."):
        return "Shopper: " + item.type.removeprefix("purchase.").replace("_", " ")
    if item.type == "portal.action":
        return "Portal: " + str(item.detail.get("name") or item.detail.get("operation") or "")
    if item.type == "clock.advanced":
        return "Clock moved"
    if item.type.startswith("hpp."):
        return "Hosted Payment Page: " + item.type.removeprefix("hpp.")
    return item.type


def row(item: Entry) -> dict[str, Any]:
    """What a table row shows of `item` (all plain text: the template escapes it). The same
    fields, computed the same way, are what `live.py` streams and `portal-live.js` renders."""
    return {
        "id": item.id,
        "at": iso_time(item.at),
        "time": item.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "kind": item.kind,
        "kind_label": kind_label(item),
        "type": item.type,
        "method": item.method or "",
        "target": item.target or "",
        "status": item.status,
        "status_text": status_text(item.status, item.error),
        "status_class": status_class(item.status, item.error),
        "duration": f"{item.duration_ms:.0f} ms" if item.duration_ms is not None else "—",
        "correlation_id": item.correlation_id or "",
        "order_id": item.order_id,
    }


async def journal_page(request: Request) -> Response:
    session = signed_in(request)
    ctx: AppContext = request.app.state.ctx
    where = filters_of(request)
    after = request.query_params.get("after") or None
    context: dict[str, Any] = {
        "nav": "journal",
        "where": where,
        "kinds": KIND_CHOICES,
        "query": filter_query(where),
        "after": after,
    }
    # The buffered API calls are written first (a write, so on a worker thread), or the newest
    # calls would be missing from the page.
    await ctx.write(ctx.journal.flush)
    try:
        # A worker thread even on SQLite: a filtered page may scan many of the merchant's rows
        # (some 0.2 s at 100,000), too long to hold the event loop the API answers on.
        found = await run_sync(partial(ctx.journal.page, session.merchant, where, after))
    except BadValue:
        context |= {"rows": [], "error": "That page link is not one this journal gave."}
        return page(request, "journal.html", context, session, status=400)
    live = None
    if after is None:  # new rows join the top of the first page only
        live = "/portal/journal/live?" + filter_query(where, **{"from": found.mark})
    context |= {
        "rows": [row(item) for item in found.entries],
        "next": filter_query(where, after=found.next) if found.next else None,
        "live": live,
    }
    return page(request, "journal.html", context, session)


ROUTES: list[BaseRoute] = [Route("/journal", journal_page, methods=["GET"])]
