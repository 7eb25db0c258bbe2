"""Downloads of what the journal shows: as JSON, and as a HAR 1.2 file (HTTP Archive) that a
browser's network panel imports (Chromium: Network, "Import HAR file").

- `GET /portal/journal/export.json|har`: the journal with the page's filters (`kind`, `failed`,
  `path`), the newest `EXPORT_CAP` entries;
- `GET /portal/orders/{order_id}/export.json|har`: the order's whole timeline, capped the same.

Both list entries oldest first, a recording's order; `truncated` (JSON) or the log's `comment`
(HAR) says when the cap cut older ones off. The JSON has every entry with what was logged with
it; the HAR has the HTTP exchanges only (API calls and callbacks, not purchase outcomes): an API
call as the server's public base URL plus its path, a callback as its URL without user name,
password or query (secrets live there). A HAR of what the platform logged is not a capture: the
bodies and headers that were not logged are absent (sizes -1, "unknown", as HAR 1.2 allows).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import msgspec
from anyio.to_thread import run_sync
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kco_sandbox import __version__
from kco_sandbox.domain.errors import NotFound
from kco_sandbox.services.journal import EXPORT_CAP, Entry, Export, iso_time
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.paths import ORDER_ID
from kco_sandbox.web.portal.journal import filters_of
from kco_sandbox.web.portal.render import page
from kco_sandbox.web.portal.routes import signed_in

_encode = msgspec.json.Encoder().encode
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def har(entries: list[Entry], base_url: str, comment: str = "") -> dict[str, Any]:
    """A HAR 1.2 log of the HTTP exchanges among `entries`."""
    log: dict[str, Any] = {
        "version": "1.2",
        "creator": {"name": "kco-sandbox", "version": __version__},
        "pages": [],
        "entries": [har_entry(item, base_url) for item in entries if item.kind != "event"],
    }
    if comment:
        log["comment"] = comment
    return {"log": log}


def har_entry(item: Entry, base_url: str) -> dict[str, Any]:
    """One exchange. HAR's `time` is the sum of its timings, all in milliseconds; only the
    whole duration is known, so it is the `wait` (0 for an API call recorded without one)."""
    elapsed = round(item.duration_ms, 3) if item.duration_ms is not None else 0
    url = base_url + (item.target or "") if item.kind == "api" else item.target or ""
    request: dict[str, Any] = {
        "method": item.method or "GET",
        "url": url,
        "httpVersion": "HTTP/1.1",
        "headers": [],
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": -1,
    }
    sent = item.detail.get("request")
    if sent is not None:  # a callback logs the body it posted, an API call the body it got
        text = sent if isinstance(sent, str) else _encode(sent).decode()
        request["postData"] = {"mimeType": "application/json", "text": text}
        request["bodySize"] = len(text.encode())
    agent = item.detail.get("user_agent")
    if isinstance(agent, str):
        request["headers"].append({"name": "User-Agent", "value": agent})
    answered = item.detail.get("response")
    content: dict[str, Any] = {"size": -1, "mimeType": "x-unknown"}
    if isinstance(answered, str):  # its answer too (the first 2,000 characters)
        content = {"size": len(answered.encode()), "mimeType": "application/json", "text": answered}
    headers = []
    if item.correlation_id:
        headers.append({"name": "Klarna-Correlation-Id", "value": item.correlation_id})
    location = item.detail.get("location")
    response = {
        "status": item.status or 0,  # 0: no answer came (see statusText and _error)
        "statusText": _phrase(item),
        "httpVersion": "HTTP/1.1",
        "headers": headers,
        "cookies": [],
        "content": content,
        "redirectURL": location if isinstance(location, str) else "",
        "headersSize": -1,
        "bodySize": -1,
    }
    return {
        "startedDateTime": iso_time(item.at),
        "time": elapsed,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": elapsed, "receive": 0},
        # Custom fields start with an underscore (HAR 1.2); viewers ignore them.
        "_kind": item.type,
        "_orderId": item.order_id,
        "_correlationId": item.correlation_id,
        "_error": item.error,
    }


def _phrase(item: Entry) -> str:
    if item.status is None:
        return item.error or ""
    try:
        return HTTPStatus(item.status).phrase
    except ValueError:
        return ""


def _download(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _body(export: Export, as_har: bool, base_url: str, about: dict[str, Any]) -> bytes:
    if as_har:
        comment = f"kco-sandbox: {len(export.entries)} entries"
        if export.truncated:
            comment += f", the newest {EXPORT_CAP} (older ones left out)"
        document: dict[str, Any] = har(export.entries, base_url, comment)
    else:
        document = {
            **about,
            "exported_at": iso_time(datetime.now(UTC)),
            "truncated": export.truncated,
            "count": len(export.entries),
            "entries": [item.to_json() for item in export.entries],
        }
    return msgspec.json.format(_encode(document), indent=2)


async def journal_export(request: Request, as_har: bool) -> Response:
    session = signed_in(request)
    ctx: AppContext = request.app.state.ctx
    where = filters_of(request)
    base_url = ctx.base_url(request)
    about = {
        "merchant_id": session.merchant.merchant_id,
        "filters": {"kind": where.kind, "failed": where.failed, "path": where.path},
    }
    await ctx.write(ctx.journal.flush)

    def build() -> bytes:
        return _body(ctx.journal.export(session.merchant, where), as_har, base_url, about)

    # Up to EXPORT_CAP rows and their encoding: a worker thread, not the event loop.
    body = await run_sync(build)
    name = _UNSAFE.sub("_", session.merchant.merchant_id)
    suffix = "har" if as_har else "json"
    return _download(body, f"kco-journal-{name}-{_stamp()}.{suffix}")


async def order_export(request: Request, as_har: bool) -> Response:
    session = signed_in(request)
    ctx: AppContext = request.app.state.ctx
    order_id: str = request.path_params["order_id"]
    base_url = ctx.base_url(request)
    about = {"merchant_id": session.merchant.merchant_id, "order_id": order_id}
    await ctx.write(ctx.journal.flush)

    def build() -> bytes:
        timeline = ctx.journal.order_timeline(session.merchant, order_id)
        return _body(timeline, as_har, base_url, about)

    try:
        body = await run_sync(build)
    except NotFound:
        context = {"nav": "orders", "order_id": order_id}
        return page(request, "order_missing.html", context, session, status=404)
    suffix = "har" if as_har else "json"
    return _download(body, f"kco-order-{_UNSAFE.sub('_', order_id)}.{suffix}")


def _as(
    handler: Callable[[Request, bool], Awaitable[Response]], as_har: bool
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handler(request, as_har)

    return endpoint


ROUTES: list[BaseRoute] = [
    Route("/journal/export.json", _as(journal_export, False), methods=["GET"]),
    Route("/journal/export.har", _as(journal_export, True), methods=["GET"]),
    Route(f"/orders/{ORDER_ID}/export.json", _as(order_export, False), methods=["GET"]),
    Route(f"/orders/{ORDER_ID}/export.har", _as(order_export, True), methods=["GET"]),
]
