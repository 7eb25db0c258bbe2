"""`/hpp/v1/sessions` handlers: the Hosted Payment Page API v1, and its sandbox control.

Create answers `201` with all eight fields of the vendor's creation response, absolute URLs on
the base the client used (as `Location` is elsewhere), and a `Location` naming the session.
Read answers `200` with the session; DELETE `204`; distribution `204` with no body (the vendor's
spec lists 201 and 204; nothing is created that a client could read, so 204).

`SANDBOX_ROUTES`: `POST /_sandbox/hpp/sessions/{session_id}` with `{"status": ...}` moves a
session as its shopper would (IN_PROGRESS, FAILED, BACK, CANCELLED, ERROR) or ends its life
(`EXPIRED`); it answers the session as a read does.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain.errors import NotFound
from kco_sandbox.domain.hpp import SESSIONS_PATH, SessionRequest, SessionUrls, view
from kco_sandbox.domain.hpp_distribution import request_from
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.web.body import decode, read_body, read_json_object
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.wire import mark_recordable

_encode = msgspec.json.Encoder().encode


class ForcedStatus(msgspec.Struct):
    status: str


def _context(request: Request) -> tuple[AppContext, Merchant]:
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    mark_recordable(request.scope, merchant.merchant_id)
    return ctx, merchant


def _session_id(request: Request) -> str:
    session_id: str = request.path_params["session_id"]
    if not session_id.isprintable() or len(session_id) > 64:
        raise NotFound("Session not found or expired")
    return session_id


def _json(value: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        _encode(value), status_code=status_code, media_type="application/json", headers=headers
    )


async def create_session(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await decode(request, ctx.settings.max_body_bytes, SessionRequest)
    session = await ctx.write(lambda: ctx.services.hpp.create(merchant, body))
    urls = SessionUrls(ctx.base_url(request), session)
    return _json(urls.created(), 201, {"Location": urls.session_url})


async def read_session(request: Request) -> Response:
    ctx, merchant = _context(request)
    session_id = _session_id(request)
    await read_body(request, ctx.settings.max_body_bytes)
    session = await ctx.read(lambda: ctx.services.hpp.read(merchant, session_id))
    return _json(view(session))


async def disable_session(request: Request) -> Response:
    ctx, merchant = _context(request)
    session_id = _session_id(request)
    await read_body(request, ctx.settings.max_body_bytes)
    await ctx.write(lambda: ctx.services.hpp.disable(merchant, session_id))
    return Response(b"", status_code=204)


async def distribute_session(request: Request) -> Response:
    ctx, merchant = _context(request)
    session_id = _session_id(request)
    body = request_from(await read_json_object(request, ctx.settings.max_body_bytes))
    base = ctx.base_url(request)

    def distribute() -> None:
        session = ctx.services.hpp.read(merchant, session_id)
        link = SessionUrls(base, session).redirect_url
        ctx.services.hpp.distribute(merchant, session_id, body, link)

    await ctx.write(distribute)
    return Response(b"", status_code=204)


async def force_status(request: Request) -> Response:
    ctx, merchant = _context(request)
    session_id = _session_id(request)
    wanted = await decode(request, ctx.settings.max_body_bytes, ForcedStatus)
    session = await ctx.write(lambda: ctx.services.hpp.force(merchant, session_id, wanted.status))
    return _json(view(session))


ROUTES = [
    Route(SESSIONS_PATH, create_session, methods=["POST"]),
    Route(SESSIONS_PATH + "/{session_id}", read_session, methods=["GET"]),
    Route(SESSIONS_PATH + "/{session_id}", disable_session, methods=["DELETE"]),
    Route(SESSIONS_PATH + "/{session_id}/distribution", distribute_session, methods=["POST"]),
]
SANDBOX_ROUTES = [
    Route("/_sandbox/hpp/sessions/{session_id}", force_status, methods=["POST"]),
]
