"""`/customer-token/v1/tokens/{token}` handlers: read a token, charge it, cancel it.

Each handler calls one `CustomerTokenService` method. A charge answers `200` (not 201) with
`{order_id, fraud_status, authorized_payment_method}` and no `redirect_url`, as the recorded
playground answers do; a cancel answers `202` with an empty body. A charge honours
`Klarna-Idempotency-Key` (a repeat answers the first call's order). An empty token segment
(`/tokens//order`) answers what the vendor's edge did: `405 HTTP_ERROR` with one empty message.

`SANDBOX_ROUTES` is the sandbox's own switch for what only the platform does to a token:
suspend and reinstate it (`PATCH /_sandbox/customer-tokens/{token}`, `{"status": ...}`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain.customer_token import (
    CustomerToken,
    StatusUpdate,
    TokenOrderRequest,
    authorized_payment_method,
)
from kco_sandbox.domain.errors import HttpError, KcoError, NotFound, TokenNotFound
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.services.customer_tokens import TokenOrder
from kco_sandbox.web.api.order_management import _key
from kco_sandbox.web.body import decode, read_body
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.wire import mark_recordable

BASE = "/customer-token/v1/tokens"
_encode = msgspec.json.Encoder().encode


def _context(request: Request, missing: KcoError) -> tuple[AppContext, Merchant, str]:
    """The app context, the authenticated merchant and the token of the path; a token with a
    control character names no token and answers `missing` without a look-up."""
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    mark_recordable(request.scope, merchant.merchant_id)
    token: str = request.path_params["token"]
    if not token.isprintable():
        raise missing
    return ctx, merchant, token


def _json(value: Any, status_code: int = 200) -> Response:
    return Response(_encode(value), status_code=status_code, media_type="application/json")


def render_token(token: CustomerToken) -> dict[str, Any]:
    """The vendor's `customer_token`: only the block of the token's own method."""
    body: dict[str, Any] = {
        "payment_method_type": token.payment_method_type,
        "status": token.status.value,
    }
    if token.details.card is not None:
        body["card"] = token.details.card
    if token.details.direct_debit is not None:
        body["direct_debit"] = token.details.direct_debit
    return body


def render_order(done: TokenOrder) -> dict[str, Any]:
    return {
        "order_id": done.order_id,
        "fraud_status": done.fraud_status,
        "authorized_payment_method": authorized_payment_method(done.token),
    }


async def read_token(request: Request) -> Response:
    ctx, merchant, token = _context(request, NotFound("Invalid customer-token ID"))
    await read_body(request, ctx.settings.max_body_bytes)
    found = await ctx.read(lambda: ctx.services.tokens.get_token(merchant, token))
    return _json(render_token(found))


async def create_order(request: Request) -> Response:
    ctx, merchant, token = _context(request, TokenNotFound("Invalid customer-token ID"))
    body = await decode(request, ctx.settings.max_body_bytes, TokenOrderRequest)
    key = _key(request)
    done = await ctx.write(lambda: ctx.services.tokens.create_order(merchant, token, body, key))
    return _json(render_order(done))


async def update_status(request: Request) -> Response:
    ctx, merchant, token = _context(request, NotFound("Invalid token ID"))
    update = await decode(request, ctx.settings.max_body_bytes, StatusUpdate)
    await ctx.write(lambda: ctx.services.tokens.cancel(merchant, token, update.status))
    return Response(b"", status_code=202)


async def empty_token(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    ctx.auth.merchant_for(request.headers.get("authorization"))
    raise HttpError("")


async def sandbox_set_status(request: Request) -> Response:
    ctx, merchant, token = _context(request, NotFound("Invalid customer-token ID"))
    update = await decode(request, ctx.settings.max_body_bytes, StatusUpdate)
    found = await ctx.write(lambda: ctx.services.tokens.set_status(merchant, token, update.status))
    return _json(render_token(found))


ROUTES = [
    Route(BASE + "//order", empty_token, methods=["POST"]),
    Route(BASE + "/{token}", read_token, methods=["GET"]),
    Route(BASE + "/{token}/order", create_order, methods=["POST"]),
    Route(BASE + "/{token}/status", update_status, methods=["PATCH"]),
]
SANDBOX_ROUTES = [
    Route("/_sandbox/customer-tokens/{token}", sandbox_set_status, methods=["PATCH"]),
]
