"""The sandbox's own control API under `/_sandbox/`, outside the vendor's paths.

`POST /_sandbox/orders/{order_id}/complete` completes a checkout without a browser, through the
same steps as the hosted page (see `services.purchase`). It is authenticated with the merchant's
own credentials and can be switched off with `--no-sandbox-api`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain.checkout.order import Address, Doc
from kco_sandbox.domain.checkout.record import bad_value_from
from kco_sandbox.domain.errors import NotFound
from kco_sandbox.domain.purchase.persona import DEFAULT_EMAIL
from kco_sandbox.services.purchase import CompleteRequest
from kco_sandbox.web.api import sandbox_clock as sandbox_callbacks
from kco_sandbox.web.api.order_management_render import om_time
from kco_sandbox.web.body import read_json_object
from kco_sandbox.web.context import AppContext

_encode = msgspec.json.Encoder().encode


class CompleteBody(Doc):
    email: str = DEFAULT_EMAIL
    billing_address: Address | None = None
    shipping_address: Address | None = None
    shipping_option_id: str | None = None
    payment_method: str = "invoice"
    checkboxes: dict[str, bool] = msgspec.field(default_factory=dict)
    date_of_birth: str | None = None
    national_identification_number: str | None = None


def _decode(body: dict[str, Any]) -> CompleteRequest:
    try:
        parsed = msgspec.convert({k: v for k, v in body.items() if v is not None}, CompleteBody)
    except msgspec.ValidationError as exc:
        raise bad_value_from(exc) from None
    return CompleteRequest(
        email=parsed.email,
        billing_address=parsed.billing_address,
        shipping_address=parsed.shipping_address,
        shipping_option_id=parsed.shipping_option_id,
        payment_method=parsed.payment_method,
        checkboxes=parsed.checkboxes,
        date_of_birth=parsed.date_of_birth,
        national_identification_number=parsed.national_identification_number,
    )


async def complete_order(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    order_id = request.path_params["order_id"]
    completion_request = _decode(body)
    base = ctx.base_url(request)
    completion = await ctx.write(
        lambda: ctx.purchase.complete(merchant, order_id, completion_request, base)
    )
    record = completion.record
    payload = {
        "order_id": record.order_id,
        "status": "checkout_complete",
        "fraud_status": record.session.fraud_status,
        "redirect_url": completion.redirect_url,
    }
    return Response(_encode(payload), media_type="application/json")


async def order_events(request: Request) -> Response:
    """Everything recorded on an order, oldest first (merchant callbacks, purchase outcomes)."""
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    order_id = request.path_params["order_id"]
    record = await ctx.read(lambda: ctx.checkout.store.get_checkout(order_id))
    if record is None or record.merchant_id != merchant.merchant_id:
        raise NotFound(f"Order {order_id} not found")
    await ctx.write(ctx.calls.flush)
    events = await ctx.read(lambda: ctx.checkout.store.list_events(order_id))
    attempts = await ctx.read(lambda: ctx.timekeeping.outbox.attempts_for(order_id))
    # One timeline: the recorded events and the callback attempts, in the order they happened.
    events = sorted(events + attempts, key=lambda event: event["at"])
    payload = [{**event, "at": om_time(event["at"])} for event in events]
    return Response(
        _encode({"order_id": order_id, "events": payload}), media_type="application/json"
    )


ROUTES = [
    Route("/_sandbox/orders/{order_id}/complete", complete_order, methods=["POST"]),
    Route("/_sandbox/orders/{order_id}/events", order_events, methods=["GET"]),
    *sandbox_callbacks.ROUTES,
]
