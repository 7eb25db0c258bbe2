"""The shopper's routes of the Hosted Payment Page (no credentials: the short id is the link).

- `GET /hpp/payments/{short_id}`: the session page. Opening it moves the session to IN_PROGRESS
  (again, after FAILED, BACK or ERROR); a session already final goes to its result; a session
  whose Checkout order can no longer be paid (aborted, expired) becomes ERROR and goes to its
  result.
- `POST …/back`, `…/cancel`, `…/decline`: the shopper's Back and Cancel buttons, and the
  decline the page script reports; each carries the page's form token, then goes to the result.
- `GET …/result`: `303` to the merchant's URL for the session's status, placeholders filled, or
  our own result page when that URL is empty.
- `GET …/state`: `{"status"}`, which the page polls; `GET …/qr`: the link as a QR code (PNG).
"""

from __future__ import annotations

import io

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from kco_sandbox.domain.checkout.lifecycle import CheckoutStatus
from kco_sandbox.domain.errors import NotFound
from kco_sandbox.domain.hpp import (
    FINAL,
    PAYMENTS_PATH,
    HppAction,
    HppSession,
    HppStatus,
    SessionUrls,
    outcome_url,
)
from kco_sandbox.web.checkout_page.tokens import genuine, token_for
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.forms import read_form
from kco_sandbox.web.hpp_page.html import (
    CSP,
    CSS,
    SCRIPT,
    TOKEN_FIELD,
    missing_page,
    result_page,
    session_page,
)

_ACTIONS = {"back": HppAction.BACK, "cancel": HppAction.CANCEL, "decline": HppAction.DECLINE}
_RETRYABLE = (HppStatus.FAILED, HppStatus.BACK, HppStatus.ERROR)
_HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": CSP}


def _html(page: str, status_code: int = 200) -> Response:
    return HTMLResponse(page, status_code=status_code, headers=_HEADERS)


def _missing() -> Response:
    return _html(missing_page(), 404)


def _see(url: str, request: Request | None = None) -> Response:
    """`303` to `url`; a path of ours (given with its `request`) as an absolute URL, as every
    `Location` the platform sends."""
    if request is not None and url.startswith("/"):
        ctx: AppContext = request.app.state.ctx
        url = ctx.base_url(request) + url
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _short_id(request: Request) -> str | None:
    short_id: str = request.path_params["short_id"]
    return short_id if short_id.isalnum() and len(short_id) <= 16 else None


def _token(ctx: AppContext, short_id: str) -> str:
    return token_for(ctx.form_key, f"hpp:{short_id}")


def _result_path(short_id: str) -> str:
    return f"{PAYMENTS_PATH}/{short_id}/result"


async def payment_page(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    short_id = _short_id(request)
    if short_id is None:
        return _missing()
    hpp = ctx.services.hpp
    try:
        session, record = await ctx.read(lambda: hpp.page(short_id))
        if session.status in FINAL:
            return _see(_result_path(short_id), request)
        if record is None or record.status is not CheckoutStatus.CHECKOUT_INCOMPLETE:
            await ctx.write(lambda: hpp.act(short_id, HppAction.ERROR))
            return _see(_result_path(short_id), request)
        session = await ctx.write(lambda: hpp.act(short_id, HppAction.OPEN))
    except NotFound:
        return _missing()
    if session.status is not HppStatus.IN_PROGRESS:  # moved by another path meanwhile
        return _see(_result_path(short_id), request)
    return _html(session_page(session, ctx.base_url(request), _token(ctx, short_id)))


async def shopper_action(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    short_id = _short_id(request)
    action = _ACTIONS.get(request.path_params["action"])
    if short_id is None or action is None:
        return _missing()
    form = await read_form(request)
    if not genuine(ctx.form_key, f"hpp:{short_id}", form.get(TOKEN_FIELD)):
        return _see(f"{PAYMENTS_PATH}/{short_id}", request)  # a forged post changes nothing
    try:
        await ctx.write(lambda: ctx.services.hpp.act(short_id, action))
    except NotFound:
        return _missing()
    return _see(_result_path(short_id), request)


async def result(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    session = await _linked(ctx, request)
    if session is None:
        return _missing()
    short_id = session.short_id
    if session.status in (HppStatus.WAITING, HppStatus.IN_PROGRESS):
        return _see(f"{PAYMENTS_PATH}/{short_id}", request)
    url = outcome_url(session, ctx.settings.hpp_encoded_placeholders)
    if url is not None:
        return _see(url)
    retry = f"{PAYMENTS_PATH}/{short_id}" if session.status in _RETRYABLE else None
    return _html(result_page(session, retry))


async def state(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    session = await _linked(ctx, request)
    if session is None:
        body, status_code = {"status": "NOT_FOUND"}, 404
    else:
        body, status_code = {"status": session.status.value}, 200
    return Response(
        msgspec.json.encode(body),
        status_code=status_code,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def qr_code(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    session = await _linked(ctx, request)
    if session is None:
        return _missing()
    image = io.BytesIO()
    link = SessionUrls(ctx.base_url(request), session).redirect_url
    import segno  # here, not at start-up: only a QR code needs it

    segno.make(link, error="m").save(image, kind="png", scale=6, border=2)
    return Response(image.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store"})


async def _linked(ctx: AppContext, request: Request) -> HppSession | None:
    """The live session the request's link names (only the session: a polled `state` reads
    nothing more), or None for a malformed, unknown or expired link."""
    short_id = _short_id(request)
    if short_id is None:
        return None
    try:
        return await ctx.read(lambda: ctx.services.hpp.by_link(short_id))
    except NotFound:
        return None


async def script(request: Request) -> Response:
    return Response(
        SCRIPT, media_type="application/javascript", headers={"Cache-Control": "no-cache"}
    )


async def stylesheet(request: Request) -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "no-cache"})


ROUTES = [
    Route("/hpp/hpp.page.js", script, methods=["GET"]),
    Route("/hpp/hpp.page.css", stylesheet, methods=["GET"]),
    Route(PAYMENTS_PATH + "/{short_id}", payment_page, methods=["GET"]),
    Route(PAYMENTS_PATH + "/{short_id}/result", result, methods=["GET"]),
    Route(PAYMENTS_PATH + "/{short_id}/state", state, methods=["GET"]),
    Route(PAYMENTS_PATH + "/{short_id}/qr", qr_code, methods=["GET"]),
    Route(PAYMENTS_PATH + "/{short_id}/{action}", shopper_action, methods=["POST"]),
]
