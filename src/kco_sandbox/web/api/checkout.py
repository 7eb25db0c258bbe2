"""`/checkout/v3/orders` handlers: authenticate, decode, call the service, render.

The store is synchronous (SQLite is, and SQLAlchemy's sync engines measured faster than its async
ones); `AppContext.read` and `AppContext.write_local` decide where a service call runs. Creating,
updating and aborting a checkout order is local work (a string check of the callback URLs, a
read, one write; no call to a merchant, no order lock), so it may run on the event loop when the
store's writer is free.

An order id that names no order (of this merchant) answers like an expired one: `404` with an
empty body. The vendor deletes orders at the end of their life, so it cannot tell the two apart,
and its SDKs expect the bare `404` (docs/checkout-api.md).
"""

from __future__ import annotations

from collections.abc import Awaitable

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from kco_sandbox.domain.checkout.record import CheckoutRecord, order_url
from kco_sandbox.domain.errors import NotFound, OrderExpired
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.web.api.checkout_render import render_order
from kco_sandbox.web.body import read_body, read_json_object
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.wire import mark_recordable

_encode = msgspec.json.Encoder().encode


def _context(request: Request) -> tuple[AppContext, Merchant]:
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    mark_recordable(request.scope, merchant.merchant_id)
    return ctx, merchant


def _order_response(
    ctx: AppContext, request: Request, merchant: Merchant, record: CheckoutRecord, status: int
) -> Response:
    base = ctx.base_url(request)
    headers = {"Location": order_url(base, record.order_id)} if status == 201 else {}
    body = _encode(render_order(record, base, merchant.name))
    return Response(body, status_code=status, headers=headers, media_type="application/json")


async def _known(call: Awaitable[CheckoutRecord]) -> CheckoutRecord:
    """The record `call` returns; an unknown order raised as an expired one (a bare 404)."""
    try:
        return await call
    except OrderExpired:
        raise
    except NotFound as exc:
        raise OrderExpired(*exc.messages) from None


async def create_order(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    record = await ctx.write_local(lambda: ctx.checkout.create_order(merchant, body))
    return _order_response(ctx, request, merchant, record, 201)


async def read_order(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)  # a GET body is read and ignored
    order_id = request.path_params["order_id"]
    record = await _known(ctx.read(lambda: ctx.checkout.read_order(merchant, order_id)))
    return _order_response(ctx, request, merchant, record, 200)


async def update_order(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    order_id = request.path_params["order_id"]
    record = await _known(
        ctx.write_local(lambda: ctx.checkout.update_order(merchant, order_id, body))
    )
    return _order_response(ctx, request, merchant, record, 200)


async def abort_order(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)  # the vendor takes no body here
    order_id = request.path_params["order_id"]
    record = await _known(ctx.write_local(lambda: ctx.checkout.abort_order(merchant, order_id)))
    return _order_response(ctx, request, merchant, record, 200)
