"""The sandbox API's control of time and callbacks.

- `GET /_sandbox/clock`, `POST /_sandbox/clock/advance {"seconds": N}`: read and move the platform
  clock; an advance answers once every callback that fell due has been attempted.
- `GET|PUT|DELETE /_sandbox/callbacks/faults`: the merchant's fault injection on its callbacks.
- `POST /_sandbox/orders/{order_id}/fraud-stop`: a `FRAUD_RISK_STOPPED` notification for a
  completed order.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain import faults as fault_state
from kco_sandbox.domain.checkout.order import Doc
from kco_sandbox.domain.checkout.record import bad_value_from
from kco_sandbox.domain.delivery import CallbackKind
from kco_sandbox.domain.errors import BadValue, NoSuchOrder
from kco_sandbox.domain.purchase.cart import expand_url
from kco_sandbox.store.outbox import Callback
from kco_sandbox.web.api.order_management_render import om_time
from kco_sandbox.web.body import read_body, read_json_object
from kco_sandbox.web.context import AppContext

_encode = msgspec.json.Encoder().encode
MAX_ADVANCE_SECONDS = 10 * 365 * 24 * 3600


class AdvanceBody(Doc, kw_only=True):
    seconds: Annotated[float, Meta(ge=0, le=MAX_ADVANCE_SECONDS)]


def _json(value: object) -> Response:
    return Response(_encode(value), media_type="application/json")


def _signed_in(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    ctx.auth.merchant_for(request.headers.get("authorization"))
    return ctx


async def read_clock(request: Request) -> Response:
    ctx = _signed_in(request)
    clock = ctx.timekeeping.clock
    return _json(
        {
            "now": om_time(clock.now()),
            "offset_seconds": clock.offset.total_seconds(),
            "scale": clock.scale,
        }
    )


async def advance_clock(request: Request) -> Response:
    ctx = _signed_in(request)
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    try:
        seconds = msgspec.convert(body, AdvanceBody).seconds
    except msgspec.ValidationError as exc:
        raise bad_value_from(exc) from None
    advanced = await ctx.write(lambda: ctx.timekeeping.advance(seconds))
    return _json({"now": om_time(advanced.now), "attempted": advanced.attempted})


def _faults_key(request: Request) -> tuple[AppContext, str]:
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    return ctx, fault_state.state_key(merchant.merchant_id)


async def read_faults(request: Request) -> Response:
    ctx, key = _faults_key(request)
    outbox = ctx.timekeeping.outbox
    faults = fault_state.decode(await ctx.read(lambda: outbox.get_state(key)))
    return _json(msgspec.structs.asdict(faults))


async def set_faults(request: Request) -> Response:
    ctx, key = _faults_key(request)
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    try:
        faults = msgspec.convert(body, fault_state.Faults)
    except msgspec.ValidationError as exc:
        raise bad_value_from(exc) from None
    if min(faults.drop, faults.timeout, faults.duplicate, faults.delay_ms) < 0:
        raise BadValue("faults", "counts and delays may not be negative")
    outbox = ctx.timekeeping.outbox
    await ctx.write(lambda: outbox.set_state(key, fault_state.encode(faults)))
    return _json(msgspec.structs.asdict(faults))


async def clear_faults(request: Request) -> Response:
    ctx, key = _faults_key(request)
    await read_body(request, ctx.settings.max_body_bytes)
    outbox = ctx.timekeeping.outbox
    await ctx.write(lambda: outbox.set_state(key, fault_state.encode(fault_state.Faults())))
    return Response(status_code=204)


async def fraud_stop(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    await read_body(request, ctx.settings.max_body_bytes)
    order_id = request.path_params["order_id"]
    record = await ctx.read(lambda: ctx.checkout.store.get_checkout(order_id))
    order = await ctx.read(lambda: ctx.management.get(merchant, order_id))
    if record is None:
        raise NoSuchOrder(f"Order {order_id} not found")
    url = record.order.merchant_urls.notification
    if not url:
        raise BadValue("merchant_urls.notification", "the order has no notification URL")
    now = ctx.timekeeping.clock.now()
    order_url = f"{ctx.base_url(request)}/checkout/v3/orders/{order_id}"
    event = {"order_id": order.order_id, "event_type": "FRAUD_RISK_STOPPED"}
    callback = Callback(
        callback_id=ctx.checkout.new_id(),
        order_id=order_id,
        merchant_id=merchant.merchant_id,
        kind=CallbackKind.NOTIFICATION,
        url=expand_url(url, order_id, order_url),
        body=_encode(event),
        starts_at=now,
        next_attempt_at=now,
    )
    await ctx.write(lambda: ctx.timekeeping.outbox.enqueue(callback, now))
    return _json({**event, "callback_id": callback.callback_id})


ROUTES = [
    Route("/_sandbox/clock", read_clock, methods=["GET"]),
    Route("/_sandbox/clock/advance", advance_clock, methods=["POST"]),
    Route("/_sandbox/callbacks/faults", read_faults, methods=["GET"]),
    Route("/_sandbox/callbacks/faults", set_faults, methods=["PUT", "POST"]),
    Route("/_sandbox/callbacks/faults", clear_faults, methods=["DELETE"]),
    Route("/_sandbox/orders/{order_id}/fraud-stop", fraud_stop, methods=["POST"]),
]
