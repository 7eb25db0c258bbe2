"""`/ordermanagement/v1/orders/{order_id}` handlers: authenticate, decode, change, answer.

Every mutating call honours `Klarna-Idempotency-Key`: the first successful answer (status,
headers, body) is returned again for a repeated key from the same merchant, whatever the body.
`201` and `204` answers have empty bodies, as the vendor's do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain.checkout.record import bad_value_from
from kco_sandbox.domain.errors import NoSuchOrder, NotFound
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management import rules as om_rules
from kco_sandbox.domain.order_management.order import (
    AuthorizationUpdate,
    CaptureRequest,
    CustomerUpdate,
    DueDateExtension,
    OmOrder,
    ReferencesUpdate,
    RefundRequest,
    ShippingInfoUpdate,
)
from kco_sandbox.store.orders import StoredAnswer
from kco_sandbox.web.api.order_management_render import (
    render_captures,
    render_om_order,
    render_refund,
)
from kco_sandbox.web.body import read_body, read_json_object
from kco_sandbox.web.context import AppContext

T = TypeVar("T")
R = TypeVar("R")
B = TypeVar("B")
Endpoint = Callable[[Request], Awaitable[Response]]
BASE = "/ordermanagement/v1/orders/{order_id}"
NO_CONTENT = StoredAnswer(204, {}, b"")
_encode = msgspec.json.Encoder().encode


def _context(request: Request) -> tuple[AppContext, Merchant, str]:
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    return ctx, merchant, request.path_params["order_id"]


def _json(value: Any) -> Response:
    return Response(_encode(value), media_type="application/json")


def _reply(answer: StoredAnswer) -> Response:
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


async def _decode(request: Request, ctx: AppContext, kind: type[T]) -> T:
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    try:
        return msgspec.convert({k: v for k, v in body.items() if v is not None}, kind)
    except msgspec.ValidationError as exc:
        raise bad_value_from(exc) from None


async def _change(
    request: Request,
    ctx: AppContext,
    merchant: Merchant,
    order_id: str,
    rule: Callable[[OmOrder, datetime], tuple[OmOrder | None, R]],
    answer: Callable[[R], StoredAnswer],
) -> Response:
    key = request.headers.get("klarna-idempotency-key") or None
    reply = await ctx.write(lambda: ctx.management.change(merchant, order_id, rule, answer, key))
    return _reply(reply)


def _no_content(_: object) -> StoredAnswer:
    return NO_CONTENT


# reading


async def get_order(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    order = await ctx.read(lambda: ctx.management.get(merchant, order_id))
    return _json(render_om_order(order, ctx.checkout.clock.now()))


async def list_captures(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    order = await ctx.read(lambda: ctx.management.get(merchant, order_id))
    return _json(render_captures(order))


async def get_capture(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    capture_id = request.path_params["capture_id"]
    order = await ctx.read(lambda: ctx.management.get(merchant, order_id))
    om_rules.find_capture(order, capture_id)
    [found] = [c for c in render_captures(order) if c["capture_id"] == capture_id]
    return _json(found)


async def get_refund(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    refund_id = request.path_params["refund_id"]
    try:
        order = await ctx.read(lambda: ctx.management.get(merchant, order_id))
    except NoSuchOrder:
        raise NotFound(f"Refund {refund_id} cannot be found for order {order_id}") from None
    for refund in order.refunds:
        if refund.refund_id == refund_id:
            return _json(render_refund(refund))
    raise NotFound(f"Refund {refund_id} cannot be found for order {order_id}")


async def due_date_options(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    order = await ctx.read(lambda: ctx.management.get(merchant, order_id))
    om_rules.find_capture(order, request.path_params["capture_id"])
    options = [{"number_of_days": d, "amount": a} for d, a in om_rules.DUE_DATE_OPTIONS]
    return _json({"currency": order.purchase_currency.lower(), "options": options})


# changing


async def acknowledge(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)

    def rule(order: OmOrder, now: datetime) -> tuple[OmOrder | None, None]:
        if order.acknowledged_at is not None:
            return None, None
        return msgspec.structs.replace(order, acknowledged_at=now), None

    return await _change(request, ctx, merchant, order_id, rule, _no_content)


def _simple(change: Callable[[OmOrder, datetime], OmOrder]) -> Endpoint:
    """A body-less POST whose rule only changes the order (cancel, release, extend)."""

    async def handler(request: Request) -> Response:
        ctx, merchant, order_id = _context(request)
        await read_body(request, ctx.settings.max_body_bytes)
        return await _change(
            request, ctx, merchant, order_id, lambda o, now: (change(o, now), None), _no_content
        )

    return handler


cancel = _simple(om_rules.cancel)
release = _simple(om_rules.release)
extend_authorization = _simple(om_rules.extend_authorization)


def _with_body(kind: type[B], change: Callable[[OmOrder, B, datetime], OmOrder]) -> Endpoint:
    """A call whose JSON body `change` applies to the order (authorization, references, ...)."""

    async def handler(request: Request) -> Response:
        ctx, merchant, order_id = _context(request)
        body = await _decode(request, ctx, kind)
        return await _change(
            request,
            ctx,
            merchant,
            order_id,
            lambda o, now: (change(o, body, now), None),
            _no_content,
        )

    return handler


update_authorization = _with_body(AuthorizationUpdate, om_rules.update_authorization)
update_customer = _with_body(CustomerUpdate, om_rules.update_customer)
update_references = _with_body(ReferencesUpdate, om_rules.update_references)
add_shipping_info = _with_body(
    ShippingInfoUpdate,
    lambda o, update, now: om_rules.add_shipping_info(o, update.shipping_info, now),
)


def _created(
    collection: str,
    id_header: str,
    answer_id: Callable[[Any], str],
    kind: type[B],
    rule: Callable[[OmOrder, B, str, datetime], tuple[OmOrder, Any]],
) -> Endpoint:
    """A `201` that makes a capture or a refund: empty body, absolute `Location`, its id header."""

    async def handler(request: Request) -> Response:
        ctx, merchant, order_id = _context(request)
        if collection == "refunds":
            try:  # the vendor's file names NOT_FOUND, not NO_SUCH_ORDER, for refunds here
                await ctx.read(lambda: ctx.management.get(merchant, order_id))
            except NoSuchOrder as exc:
                raise NotFound(*exc.messages) from None
        body = await _decode(request, ctx, kind)
        new_id = ctx.checkout.new_id()
        location = f"{ctx.base_url(request)}/ordermanagement/v1/orders/{order_id}/{collection}/"

        def answer(made: Any) -> StoredAnswer:
            made_id = answer_id(made)
            return StoredAnswer(201, {"Location": location + made_id, id_header: made_id}, b"")

        return await _change(
            request, ctx, merchant, order_id, lambda o, now: rule(o, body, new_id, now), answer
        )

    return handler


create_capture = _created(
    "captures", "Capture-Id", lambda c: c.capture_id, CaptureRequest, om_rules.capture
)
create_refund = _created(
    "refunds", "Refund-Id", lambda r: r.refund_id, RefundRequest, om_rules.refund
)


async def capture_shipping_info(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    update = await _decode(request, ctx, ShippingInfoUpdate)
    capture_id = request.path_params["capture_id"]
    return await _change(
        request,
        ctx,
        merchant,
        order_id,
        lambda o, now: (
            om_rules.add_capture_shipping_info(o, capture_id, update.shipping_info, now),
            None,
        ),
        _no_content,
    )


async def trigger_send_out(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    capture_id = request.path_params["capture_id"]

    def rule(order: OmOrder, now: datetime) -> tuple[OmOrder | None, None]:
        om_rules.trigger_send_out(order, capture_id, now)
        return None, None

    return await _change(request, ctx, merchant, order_id, rule, _no_content)


async def extend_due_date(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    extension = await _decode(request, ctx, DueDateExtension)
    capture_id = request.path_params["capture_id"]
    return await _change(
        request,
        ctx,
        merchant,
        order_id,
        lambda o, now: (
            om_rules.extend_due_date(o, capture_id, extension.number_of_days, now),
            None,
        ),
        _no_content,
    )


CAPTURE = BASE + "/captures/{capture_id}"
ROUTES = [
    Route(BASE, get_order, methods=["GET"]),
    Route(BASE + "/acknowledge", acknowledge, methods=["POST"]),
    Route(BASE + "/authorization", update_authorization, methods=["PATCH"]),
    Route(BASE + "/customer-details", update_customer, methods=["PATCH"]),
    Route(BASE + "/extend-authorization-time", extend_authorization, methods=["POST"]),
    Route(BASE + "/merchant-references", update_references, methods=["PATCH"]),
    Route(BASE + "/release-remaining-authorization", release, methods=["POST"]),
    Route(BASE + "/shipping-info", add_shipping_info, methods=["POST"]),
    Route(BASE + "/cancel", cancel, methods=["POST"]),
    Route(BASE + "/captures", create_capture, methods=["POST"]),
    Route(BASE + "/captures", list_captures, methods=["GET"]),
    Route(CAPTURE, get_capture, methods=["GET"]),
    Route(CAPTURE + "/shipping-info", capture_shipping_info, methods=["POST"]),
    Route(CAPTURE + "/trigger-send-out", trigger_send_out, methods=["POST"]),
    Route(CAPTURE + "/extend-due-date-options", due_date_options, methods=["GET"]),
    Route(CAPTURE + "/extend-due-date", extend_due_date, methods=["PATCH"]),
    Route(BASE + "/refunds", create_refund, methods=["POST"]),
    Route(BASE + "/refunds/{refund_id}", get_refund, methods=["GET"]),
]
