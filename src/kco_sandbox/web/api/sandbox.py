"""The sandbox's own control API under `/_sandbox/`, outside the vendor's paths.

Authenticated with the merchant's own credentials; `--no-sandbox-api` switches all of it off.

- `POST /_sandbox/orders/{order_id}/complete`: complete a checkout without a browser, through the
  same steps as the hosted page (`services.purchase`).
- `GET /_sandbox/orders/{order_id}/events`: the order's timeline, a page at a time
  (`?limit=`, `?after=` the previous page's `next`).
- `POST /_sandbox/orders/{order_id}/fraud-stop`: a `FRAUD_RISK_STOPPED` notification.
- `GET /_sandbox/clock`, `POST /_sandbox/clock/advance {"seconds": N}`: read and move the calling
  merchant's own clock; an advance answers once every callback of that merchant that fell due
  has been attempted. Other merchants' time does not move.
- `GET|PUT|DELETE /_sandbox/callbacks/faults`: the merchant's fault injection on its own callbacks.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain.checkout.order import Doc
from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.faults import Faults
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.services.purchase_terms import CompleteRequest
from kco_sandbox.web.api.order_management_render import om_time
from kco_sandbox.web.body import decode, read_body
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.merchant_threads import on_merchant_threads
from kco_sandbox.web.paths import ORDER_ID
from kco_sandbox.web.wire import mark_recordable

_encode = msgspec.json.Encoder().encode


class AdvanceBody(Doc, kw_only=True):
    # The upper bounds (one advance, the merchant's total offset) are the service's, which
    # answers them with the limit in the message.
    seconds: Annotated[float, Meta(ge=0)]


def _json(value: object) -> Response:
    return Response(_encode(value), media_type="application/json")


def _context(request: Request) -> tuple[AppContext, Merchant]:
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    mark_recordable(request.scope, merchant.merchant_id)
    return ctx, merchant


async def complete_order(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await decode(request, ctx.settings.max_body_bytes, CompleteRequest)
    order_id = request.path_params["order_id"]
    base = ctx.base_url(request)
    # The purchase calls the merchant's shop and may wait on it: on the merchant's own threads.
    with on_merchant_threads(merchant.merchant_id, ctx.settings.merchant_callback_slots):
        completion = await ctx.write(lambda: ctx.purchase.complete(merchant, order_id, body, base))
    record = completion.record
    return _json(
        {
            "order_id": record.order_id,
            "status": "checkout_complete",
            "fraud_status": record.session.fraud_status,
            "redirect_url": completion.redirect_url,
        }
    )


def _page_size(request: Request) -> int | None:
    """`?limit=`: digits only (no sign, spaces or `_`), else `400 Bad value: limit`."""
    text = request.query_params.get("limit")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise BadValue("limit", "1 to 1000")
    return int(text)


async def order_events(request: Request) -> Response:
    ctx, merchant = _context(request)
    # Reading the timeline is not an event on it: a read that joined it would always leave one
    # more page for the client following `next` (with `limit=1`, forever).
    mark_recordable(request.scope, None)
    order_id = request.path_params["order_id"]
    limit = _page_size(request)
    after = request.query_params.get("after")
    # The buffered API calls are written first (a write, so in a worker thread), then the page
    # is read where reads run: bounded by `limit`, it is small enough for the event loop on
    # SQLite, and goes to a thread on PostgreSQL.
    await ctx.write(ctx.sandbox.flush_api_calls)
    events, cursor = await ctx.read(
        lambda: ctx.sandbox.order_events(merchant, order_id, limit, after)
    )
    payload: list[dict[str, Any]] = [{**event, "at": om_time(event["at"])} for event in events]
    return _json({"order_id": order_id, "events": payload, "next": cursor})


async def fraud_stop(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    order_id = request.path_params["order_id"]
    base = ctx.base_url(request)
    stop = await ctx.write(lambda: ctx.sandbox.fraud_stop(merchant, order_id, base))
    return _json(
        {"order_id": stop.order_id, "event_type": stop.event_type, "callback_id": stop.callback_id}
    )


async def read_clock(request: Request) -> Response:
    ctx, merchant = _context(request)
    clocks = ctx.delivery.clocks
    merchant_id = merchant.merchant_id
    return _json(
        {
            "now": om_time(clocks.now(merchant_id)),
            "offset_seconds": clocks.offset(merchant_id).total_seconds(),
            "scale": clocks.scale,
        }
    )


async def advance_clock(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await decode(request, ctx.settings.max_body_bytes, AdvanceBody)
    advanced = await ctx.write(lambda: ctx.delivery.advance(merchant.merchant_id, body.seconds))
    return _json({"now": om_time(advanced.now), "attempted": advanced.attempted})


async def read_faults(request: Request) -> Response:
    ctx, merchant = _context(request)
    faults = await ctx.read(lambda: ctx.sandbox.faults(merchant))
    return _json(msgspec.structs.asdict(faults))


async def set_faults(request: Request) -> Response:
    ctx, merchant = _context(request)
    wanted = ctx.delivery.check_faults(await decode(request, ctx.settings.max_body_bytes, Faults))
    faults = await ctx.write(lambda: ctx.sandbox.set_faults(merchant, wanted))
    return _json(msgspec.structs.asdict(faults))


async def clear_faults(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    await ctx.write(lambda: ctx.sandbox.clear_faults(merchant))
    return Response(status_code=204)


ROUTES = [
    Route(f"/_sandbox/orders/{ORDER_ID}/complete", complete_order, methods=["POST"]),
    Route(f"/_sandbox/orders/{ORDER_ID}/events", order_events, methods=["GET"]),
    Route(f"/_sandbox/orders/{ORDER_ID}/fraud-stop", fraud_stop, methods=["POST"]),
    Route("/_sandbox/clock", read_clock, methods=["GET"]),
    Route("/_sandbox/clock/advance", advance_clock, methods=["POST"]),
    Route("/_sandbox/callbacks/faults", read_faults, methods=["GET"]),
    Route("/_sandbox/callbacks/faults", set_faults, methods=["PUT", "POST"]),
    Route("/_sandbox/callbacks/faults", clear_faults, methods=["DELETE"]),
]
