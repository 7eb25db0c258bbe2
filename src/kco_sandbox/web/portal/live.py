"""Live updates as server-sent events (`text/event-stream`), read by `static/portal-live.js`:

- `GET /portal/journal/live`: new rows of the journal, with the page's filters;
- `GET /portal/orders/{order_id}/live`: new entries of one order's timeline.

A stream polls the store about once a `POLL` (off the event loop where reads are not local:
`ctx.read`; the buffered API calls are written first, `ctx.write`) for what was written after
the last row it sent, and sends each as an `entry` event whose data is the row as JSON (`row`
in `journal.py`) and whose `id` is the position after it. It starts after the browser's
`Last-Event-ID` (a reconnection), else after `from` (the position the page was rendered at),
else now.

Bounded per connection: at most `LIVE_BATCH` rows a table per poll, a `: heartbeat` comment after
`HEARTBEAT` quiet seconds (so proxies and the browser keep it open), and an `end` event after
`MAX_SECONDS` (or `?seconds=`, 1 to `MAX_SECONDS`, for tests and tools), after which the browser
reconnects on its own where it left off. At most `max_connections // 10` streams are open at once
per app (503 beyond), so streams never take the connections the API needs. A client that leaves
ends its stream at once (Starlette cancels it on the disconnect).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Final

import anyio
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from kco_sandbox.domain.errors import NotFound
from kco_sandbox.services.journal import LIVE_BATCH, JournalFilter, order_only
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.paths import ORDER_ID
from kco_sandbox.web.portal.journal import filters_of, row
from kco_sandbox.web.portal.render import page
from kco_sandbox.web.portal.routes import signed_in
from kco_sandbox.web.portal.session import PortalSession

POLL: Final = 1.0  # seconds between looks at the store
HEARTBEAT: Final = 15.0  # seconds of quiet before a comment keeps the connection alive
MAX_SECONDS: Final = 300.0  # a stream ends after this; the browser reconnects
RETRY_MS: Final = 3000  # how long the browser waits before reconnecting
_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class _Streams:
    """How many streams are open in this app, and how many may be."""

    limit: int
    open: int = 0


def _streams(app: Starlette, ctx: AppContext) -> _Streams:
    found: _Streams | None = getattr(app.state, "portal_live_streams", None)
    if found is None:
        found = _Streams(max(1, ctx.settings.max_connections // 10))
        app.state.portal_live_streams = found
    return found


def _seconds(text: str | None) -> float:
    try:
        asked = float(text) if text else MAX_SECONDS
    except ValueError:
        return MAX_SECONDS
    return min(max(asked, 1.0), MAX_SECONDS) if asked == asked else MAX_SECONDS  # NaN: default


async def journal_live(request: Request) -> Response:
    session = signed_in(request)
    return _stream(request, session, filters_of(request))


async def order_live(request: Request) -> Response:
    session = signed_in(request)
    ctx: AppContext = request.app.state.ctx
    order_id: str = request.path_params["order_id"]
    try:
        await ctx.read(partial(ctx.journal.check_order, session.merchant, order_id))
    except NotFound:
        context = {"nav": "orders", "order_id": order_id}
        return page(request, "order_missing.html", context, session, status=404)
    return _stream(request, session, order_only(order_id))


def _stream(request: Request, session: PortalSession, where: JournalFilter) -> Response:
    ctx: AppContext = request.app.state.ctx
    streams = _streams(request.app, ctx)
    if streams.open >= streams.limit:
        return PlainTextResponse(
            "Too many live streams are open; try again shortly.",
            status_code=503,
            headers={"Retry-After": "30"},
        )
    # A reconnection names where it got to; `from` (in the URL it reconnects to) is older.
    start = request.headers.get("last-event-id") or request.query_params.get("from")
    seconds = _seconds(request.query_params.get("seconds"))
    body = _events(request, ctx, session, where, start, seconds, streams)
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-store",
            # Proxies (nginx) otherwise hold the events back to fill a buffer.
            "X-Accel-Buffering": "no",
        },
    )


async def _events(
    request: Request,
    ctx: AppContext,
    session: PortalSession,
    where: JournalFilter,
    start: str | None,
    seconds: float,
    streams: _Streams,
) -> AsyncIterator[bytes]:
    streams.open += 1  # counted once running: a stream never started never ends
    try:
        # The first bytes go out at once: the browser then knows the stream is open.
        yield f"retry: {RETRY_MS}\n: live\n\n".encode()
        mark: str | None = start  # None: from now (`since` starts there)
        began = sent = time.monotonic()
        while True:
            await ctx.write(ctx.journal.flush)
            since = partial(ctx.journal.since, session.merchant, where, mark)
            found, after = await ctx.read(since)
            mark = after
            now = time.monotonic()
            if found:
                yield _batch([row(item) for item in found], after)
                sent = now
            elif now - sent >= HEARTBEAT:
                yield b": heartbeat\n\n"
                sent = now
            if now - began >= seconds:
                yield f"id: {after}\nevent: end\ndata: {{}}\n\n".encode()
                return
            if await request.is_disconnected():
                return
            if len(found) < LIVE_BATCH:  # a full batch may have more behind it: look at once
                await anyio.sleep(POLL)
    finally:
        streams.open -= 1


def _batch(rows: list[dict[str, object]], mark: str) -> bytes:
    """One `entry` event per row; the last carries the position, so a reconnection resumes
    after the whole batch (a batch goes out in one write)."""
    parts = [f"event: entry\ndata: {_encode(data).decode()}\n\n" for data in rows[:-1]]
    parts.append(f"id: {mark}\nevent: entry\ndata: {_encode(rows[-1]).decode()}\n\n")
    return "".join(parts).encode()


ROUTES: list[BaseRoute] = [
    Route("/journal/live", journal_live, methods=["GET"]),
    Route(f"/orders/{ORDER_ID}/live", order_live, methods=["GET"]),
]
