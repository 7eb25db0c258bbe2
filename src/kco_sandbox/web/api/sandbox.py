"""The sandbox's own control API under `/_sandbox/`, outside the vendor's paths.

Authenticated with the merchant's own credentials; `--no-sandbox-api` switches all of it off.

- `POST /_sandbox/orders/{order_id}/complete`: complete a checkout without a browser, through the
  same steps as the hosted page (`services.purchase`).
- `GET /_sandbox/orders/{order_id}/events`: the order's timeline.
- `POST /_sandbox/orders/{order_id}/fraud-stop`: a `FRAUD_RISK_STOPPED` notification.
- `GET /_sandbox/clock`, `POST /_sandbox/clock/advance {"seconds": N}`: read and move the platform
  clock; an advance answers once every callback that fell due has been attempted.
- `GET|PUT|DELETE /_sandbox/callbacks/faults`: the merchant's fault injection on its callbacks.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain.checkout.order import Doc
from kco_sandbox.domain.faults import Faults
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.services.purchase import CompleteRequest
from kco_sandbox.web.api.order_management_render import om_time
from kco_sandbox.web.body import decode, read_body
from kco_sandbox.web.context import AppContext

_encode = msgspec.json.Encoder().encode
MAX_ADVANCE_SECONDS = 10 * 365 * 24 * 3600


class AdvanceBody(Doc, kw_only=True):
    seconds: Annotated[float, Meta(ge=0, le=MAX_ADVANCE_SECONDS)]


def _json(value: object) -> Response:
    return Response(_encode(value), media_type="application/json")


def _context(request: Request) -> tuple[AppContext, Merchant]:
    ctx: AppContext = request.app.state.ctx
    return ctx, ctx.auth.merchant_for(request.headers.get("authorization"))


async def complete_order(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await decode(request, ctx.settings.max_body_bytes, CompleteRequest)
    order_id = request.path_params["order_id"]
    base = ctx.base_url(request)
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


async def order_events(request: Request) -> Response:
    ctx, merchant = _context(request)
    order_id = request.path_params["order_id"]
    events = await ctx.write(lambda: ctx.sandbox.order_events(merchant, order_id))
    payload: list[dict[str, Any]] = [{**event, "at": om_time(event["at"])} for event in events]
    return _json({"order_id": order_id, "events": payload})


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
    ctx, _ = _context(request)
    clock = ctx.delivery.clock
    return _json(
        {
            "now": om_time(clock.now()),
            "offset_seconds": clock.offset.total_seconds(),
            "scale": clock.scale,
        }
    )


async def advance_clock(request: Request) -> Response:
    ctx, _ = _context(request)
    body = await decode(request, ctx.settings.max_body_bytes, AdvanceBody)
    advanced = await ctx.write(lambda: ctx.delivery.advance(body.seconds))
    return _json({"now": om_time(advanced.now), "attempted": advanced.attempted})


async def read_faults(request: Request) -> Response:
    ctx, merchant = _context(request)
    faults = await ctx.read(lambda: ctx.sandbox.faults(merchant))
    return _json(msgspec.structs.asdict(faults))


async def set_faults(request: Request) -> Response:
    ctx, merchant = _context(request)
    wanted = await decode(request, ctx.settings.max_body_bytes, Faults)
    faults = await ctx.write(lambda: ctx.sandbox.set_faults(merchant, wanted))
    return _json(msgspec.structs.asdict(faults))


async def clear_faults(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    await ctx.write(lambda: ctx.sandbox.clear_faults(merchant))
    return Response(status_code=204)


ROUTES = [
    Route("/_sandbox/orders/{order_id}/complete", complete_order, methods=["POST"]),
    Route("/_sandbox/orders/{order_id}/events", order_events, methods=["GET"]),
    Route("/_sandbox/orders/{order_id}/fraud-stop", fraud_stop, methods=["POST"]),
    Route("/_sandbox/clock", read_clock, methods=["GET"]),
    Route("/_sandbox/clock/advance", advance_clock, methods=["POST"]),
    Route("/_sandbox/callbacks/faults", read_faults, methods=["GET"]),
    Route("/_sandbox/callbacks/faults", set_faults, methods=["PUT", "POST"]),
    Route("/_sandbox/callbacks/faults", clear_faults, methods=["DELETE"]),
]
