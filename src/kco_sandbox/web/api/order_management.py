"""`/ordermanagement/v1/orders/{order_id}` handlers: authenticate, decode, call the service, render.

Each handler calls one `OrderManagementService` method. Every mutating call honours
`Klarna-Idempotency-Key`: a repeat of the same operation on the same order (and capture) with a
key from the same merchant answers what its first successful call answered, whatever the repeat's
body (the service returns a `Replay`, rendered here like the original answer); the same key on
another operation or order is a new key. Captures and refunds answer `201` with an empty body,
an absolute `Location` and their id header; every other change answers `204` with no content, as
the vendor's do.

Changes run through `AppContext.write_local`: a change is a read and a write of a few rows, run
on the event loop when the store's writer is free (the hop to a worker thread and back cost a
capture about as much CPU as the capture itself), else, and always on PostgreSQL, in a worker
thread. The service's per-order lock never makes the event loop wait (`services.order_locks`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain.errors import BadValue, KcoError, NoSuchOrder, NotFound
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management.idempotency import Replay
from kco_sandbox.domain.order_management.order import (
    AuthorizationUpdate,
    Capture,
    CaptureRequest,
    CustomerUpdate,
    DueDateExtension,
    OmOrder,
    ReferencesUpdate,
    Refund,
    RefundRequest,
    ShippingInfoUpdate,
)
from kco_sandbox.web.api.order_management_render import (
    render_capture,
    render_captures,
    render_due_date_options,
    render_om_order,
    render_refund,
)
from kco_sandbox.web.body import decode, read_body
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.wire import mark_recordable

BASE = "/ordermanagement/v1/orders/{order_id}"
_encode = msgspec.json.Encoder().encode


def _no_such_order(order_id: str) -> KcoError:
    return NoSuchOrder(f"Order {order_id} not found")


def _context(
    request: Request, missing: Callable[[str], KcoError] = _no_such_order
) -> tuple[AppContext, Merchant, str]:
    """The app context, the authenticated merchant and the order id of the path.

    An id never holds a control character (and PostgreSQL refuses a NUL in a string): such an
    id names no order, and answers `missing(order_id)`, the error of the service for an unknown
    order, without a look-up.
    """
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    mark_recordable(request.scope, merchant.merchant_id)
    order_id: str = request.path_params["order_id"]
    if not order_id.isprintable():
        raise missing(order_id)
    return ctx, merchant, order_id


def _path_id(request: Request, name: str) -> str:
    """A capture or refund id of the path. Like an order id (`web/paths.py`) it never holds an
    unprintable character: such an id comes escaped, names nothing, and never reaches the store
    (PostgreSQL refuses a NUL in a string, an idempotency key's scope included)."""
    value: str = request.path_params[name]
    return value if value.isprintable() else value.encode("unicode_escape").decode("ascii")


KEY_HEADER = "Klarna-Idempotency-Key"
MAX_KEY_LENGTH = 255  # the store's column (PostgreSQL enforces it; SQLite would not)


def _key(request: Request) -> str | None:
    key = request.headers.get(KEY_HEADER) or None
    if key is not None and (len(key) > MAX_KEY_LENGTH or not key.isprintable()):
        raise BadValue(KEY_HEADER)
    return key


def _json(value: Any) -> Response:
    return Response(_encode(value), media_type="application/json")


def _created(
    ctx: AppContext, request: Request, order_id: str, collection: str, id_header: str, made: str
) -> Response:
    """`201`, empty body, the absolute `Location` of the new capture or refund, its id header."""
    location = f"{ctx.base_url(request)}/ordermanagement/v1/orders/{order_id}/{collection}/{made}"
    return Response(b"", status_code=201, headers={"Location": location, id_header: made})


def _changed(
    ctx: AppContext, request: Request, order_id: str, done: OmOrder | Capture | Refund | Replay
) -> Response:
    """The reply to a change: `201` for what it (or, replayed, the key's first call) created,
    else `204`. A replay points at the order its first call acted on."""
    if isinstance(done, Replay):
        replayed_order = done.order_id or order_id
        if done.capture_id is not None:
            return _created(ctx, request, replayed_order, "captures", "Capture-Id", done.capture_id)
        if done.refund_id is not None:
            return _created(ctx, request, replayed_order, "refunds", "Refund-Id", done.refund_id)
    if isinstance(done, Capture):
        return _created(ctx, request, order_id, "captures", "Capture-Id", done.capture_id)
    if isinstance(done, Refund):
        return _created(ctx, request, order_id, "refunds", "Refund-Id", done.refund_id)
    return Response(b"", status_code=204)


# Reading


async def get_order(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    order = await ctx.read(lambda: ctx.management.get_order(merchant, order_id))
    return _json(render_om_order(order, ctx.clock.now(merchant.merchant_id)))


async def list_captures(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    captures = await ctx.read(lambda: ctx.management.list_captures(merchant, order_id))
    return _json(render_captures(captures))


async def get_capture(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    capture_id = _path_id(request, "capture_id")
    found = await ctx.read(lambda: ctx.management.get_capture(merchant, order_id, capture_id))
    return _json(render_capture(found))


async def get_refund(request: Request) -> Response:
    refund_id = _path_id(request, "refund_id")
    ctx, merchant, order_id = _context(
        request,
        lambda order_id: NotFound(f"Refund {refund_id} cannot be found for order {order_id}"),
    )
    found = await ctx.read(lambda: ctx.management.get_refund(merchant, order_id, refund_id))
    return _json(render_refund(found))


async def extend_due_date_options(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    capture_id = _path_id(request, "capture_id")
    options = await ctx.read(
        lambda: ctx.management.extend_due_date_options(merchant, order_id, capture_id)
    )
    return _json(render_due_date_options(options))


# Changing the order


async def acknowledge(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    key = _key(request)
    done = await ctx.write_local(lambda: ctx.management.acknowledge(merchant, order_id, key))
    return _changed(ctx, request, order_id, done)


async def update_authorization(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    update = await decode(request, ctx.settings.max_body_bytes, AuthorizationUpdate)
    key = _key(request)
    done = await ctx.write_local(
        lambda: ctx.management.update_authorization(merchant, order_id, update, key)
    )
    return _changed(ctx, request, order_id, done)


async def update_customer_details(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    update = await decode(request, ctx.settings.max_body_bytes, CustomerUpdate)
    key = _key(request)
    done = await ctx.write_local(
        lambda: ctx.management.update_customer_details(merchant, order_id, update, key)
    )
    return _changed(ctx, request, order_id, done)


async def extend_authorization_time(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    key = _key(request)
    done = await ctx.write_local(
        lambda: ctx.management.extend_authorization_time(merchant, order_id, key)
    )
    return _changed(ctx, request, order_id, done)


async def update_merchant_references(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    update = await decode(request, ctx.settings.max_body_bytes, ReferencesUpdate)
    key = _key(request)
    done = await ctx.write_local(
        lambda: ctx.management.update_merchant_references(merchant, order_id, update, key)
    )
    return _changed(ctx, request, order_id, done)


async def release_remaining_authorization(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    key = _key(request)
    done = await ctx.write_local(
        lambda: ctx.management.release_remaining_authorization(merchant, order_id, key)
    )
    return _changed(ctx, request, order_id, done)


async def add_shipping_info(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    update = await decode(request, ctx.settings.max_body_bytes, ShippingInfoUpdate)
    key = _key(request)
    done = await ctx.write_local(
        lambda: ctx.management.add_shipping_info(merchant, order_id, update, key)
    )
    return _changed(ctx, request, order_id, done)


async def cancel(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    key = _key(request)
    done = await ctx.write_local(lambda: ctx.management.cancel(merchant, order_id, key))
    return _changed(ctx, request, order_id, done)


# Captures and refunds


async def create_capture(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    body = await decode(request, ctx.settings.max_body_bytes, CaptureRequest)
    key = _key(request)
    done = await ctx.write_local(lambda: ctx.management.capture(merchant, order_id, body, key))
    return _changed(ctx, request, order_id, done)


async def add_capture_shipping_info(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    update = await decode(request, ctx.settings.max_body_bytes, ShippingInfoUpdate)
    capture_id = _path_id(request, "capture_id")
    key = _key(request)
    done = await ctx.write_local(
        lambda: ctx.management.add_capture_shipping_info(
            merchant, order_id, capture_id, update, key
        )
    )
    return _changed(ctx, request, order_id, done)


async def trigger_send_out(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    capture_id = _path_id(request, "capture_id")
    key = _key(request)
    done = await ctx.write_local(
        lambda: ctx.management.trigger_send_out(merchant, order_id, capture_id, key)
    )
    return _changed(ctx, request, order_id, done)


async def extend_due_date(request: Request) -> Response:
    ctx, merchant, order_id = _context(request)
    extension = await decode(request, ctx.settings.max_body_bytes, DueDateExtension)
    capture_id = _path_id(request, "capture_id")
    key = _key(request)
    done = await ctx.write_local(
        lambda: ctx.management.extend_due_date(
            merchant, order_id, capture_id, extension.number_of_days, key
        )
    )
    return _changed(ctx, request, order_id, done)


async def create_refund(request: Request) -> Response:
    # The vendor's file names NOT_FOUND, not NO_SUCH_ORDER, for a refund on no order.
    ctx, merchant, order_id = _context(
        request, lambda order_id: NotFound(f"Order {order_id} not found")
    )
    body = await decode(request, ctx.settings.max_body_bytes, RefundRequest)
    key = _key(request)
    done = await ctx.write_local(lambda: ctx.management.refund(merchant, order_id, body, key))
    return _changed(ctx, request, order_id, done)


CAPTURE = BASE + "/captures/{capture_id}"
# Starlette tries the routes in turn, a regular expression each (about 1 µs): the busiest first.
# Two routes of one path keep their order (the first answers a method neither allows).
ROUTES = [
    Route(BASE, get_order, methods=["GET"]),
    Route(BASE + "/captures", create_capture, methods=["POST"]),
    Route(BASE + "/captures", list_captures, methods=["GET"]),
    Route(BASE + "/refunds", create_refund, methods=["POST"]),
    Route(BASE + "/acknowledge", acknowledge, methods=["POST"]),
    Route(BASE + "/authorization", update_authorization, methods=["PATCH"]),
    Route(BASE + "/customer-details", update_customer_details, methods=["PATCH"]),
    Route(BASE + "/extend-authorization-time", extend_authorization_time, methods=["POST"]),
    Route(BASE + "/merchant-references", update_merchant_references, methods=["PATCH"]),
    Route(
        BASE + "/release-remaining-authorization",
        release_remaining_authorization,
        methods=["POST"],
    ),
    Route(BASE + "/shipping-info", add_shipping_info, methods=["POST"]),
    Route(BASE + "/cancel", cancel, methods=["POST"]),
    Route(CAPTURE, get_capture, methods=["GET"]),
    Route(CAPTURE + "/shipping-info", add_capture_shipping_info, methods=["POST"]),
    Route(CAPTURE + "/trigger-send-out", trigger_send_out, methods=["POST"]),
    Route(CAPTURE + "/extend-due-date-options", extend_due_date_options, methods=["GET"]),
    Route(CAPTURE + "/extend-due-date", extend_due_date, methods=["PATCH"]),
    Route(BASE + "/refunds/{refund_id}", get_refund, methods=["GET"]),
]
