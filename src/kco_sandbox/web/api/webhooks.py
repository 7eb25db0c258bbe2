"""Webhook destinations and sandbox disputes under `/_sandbox/` (a sandbox extension: the vendor
manages destinations in its Portal only). Authenticated with the merchant's own credentials; a
destination or order of another merchant is answered 404 as one that does not exist.

- `POST /_sandbox/webhooks` `{name, url, events}`: 201, the destination with its
  `signing_secret`, and an absolute `Location`.
- `GET /_sandbox/webhooks`: the merchant's destinations; `GET /_sandbox/webhooks/{id}`: one.
- `DELETE /_sandbox/webhooks/{id}`: 204; its queued deliveries stop.
- `POST /_sandbox/webhooks/{id}/rotate-secret`: a new secret (the old one signs on for the
  rotation window).
- `POST /_sandbox/webhooks/{id}/test`: 202, a `webhook.test` event queued to that destination.
- `POST /_sandbox/orders/{order_id}/disputes` `{status?}`: 201, a dispute and `dispute.created`;
  `GET` lists the order's disputes; `POST .../disputes/{dispute_id}` `{status}`: the dispute
  moved, and `dispute.updated`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.webhook import Destination
from kco_sandbox.domain.webhook_disputes import Dispute
from kco_sandbox.web.api.order_management_render import om_time
from kco_sandbox.web.body import read_body, read_json_object
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.paths import ORDER_ID
from kco_sandbox.web.wire import mark_recordable

_encode = msgspec.json.Encoder().encode
WEBHOOKS = "/_sandbox/webhooks"


def _json(value: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encode(value), status, headers, media_type="application/json")


def _context(request: Request) -> tuple[AppContext, Merchant]:
    ctx: AppContext = request.app.state.ctx
    merchant = ctx.auth.merchant_for(request.headers.get("authorization"))
    mark_recordable(request.scope, merchant.merchant_id)
    return ctx, merchant


def render_destination(destination: Destination) -> dict[str, Any]:
    """A destination as the sandbox API answers it, its current secret included (the merchant
    may see and copy it, as in the vendor's Portal)."""
    return {
        "id": destination.destination_id,
        "name": destination.name,
        "url": destination.url,
        "events": list(destination.events),
        "signing_secret": destination.secret,
        # Until when the rotated-out secret still signs; null when none does.
        "previous_secret_expires_at": (
            om_time(destination.previous_until) if destination.previous_until else None
        ),
        "created_at": om_time(destination.created_at),
    }


def render_dispute(dispute: Dispute) -> dict[str, Any]:
    return {
        "dispute_id": dispute.dispute_id,
        "order_id": dispute.order_id,
        "status": dispute.status.value,
        "created_at": om_time(dispute.created_at),
        "updated_at": om_time(dispute.updated_at),
    }


async def create_destination(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    name, url, events = body.get("name"), body.get("url"), body.get("events")
    created = await ctx.write(lambda: ctx.webhooks.create(merchant, name, url, events))
    location = f"{ctx.base_url(request)}{WEBHOOKS}/{created.destination_id}"
    return _json(render_destination(created), 201, {"Location": location})


async def list_destinations(request: Request) -> Response:
    ctx, merchant = _context(request)
    found = await ctx.read(lambda: ctx.webhooks.destinations(merchant))
    return _json({"webhooks": [render_destination(d) for d in found]})


async def read_destination(request: Request) -> Response:
    ctx, merchant = _context(request)
    destination_id = request.path_params["destination_id"]
    found = await ctx.read(lambda: ctx.webhooks.get(merchant, destination_id))
    return _json(render_destination(found))


async def delete_destination(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    destination_id = request.path_params["destination_id"]
    await ctx.write(lambda: ctx.webhooks.delete(merchant, destination_id))
    return Response(status_code=204)


async def rotate_secret(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    destination_id = request.path_params["destination_id"]
    rotated = await ctx.write(lambda: ctx.webhooks.rotate_secret(merchant, destination_id))
    return _json(render_destination(rotated))


async def send_test(request: Request) -> Response:
    ctx, merchant = _context(request)
    await read_body(request, ctx.settings.max_body_bytes)
    destination_id = request.path_params["destination_id"]
    event, callback_id = await ctx.write(lambda: ctx.webhooks.send_test(merchant, destination_id))
    return _json({"event_id": event.event_id, "type": event.type, "callback_id": callback_id}, 202)


async def open_dispute(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    order_id = request.path_params["order_id"]
    status = body.get("status")
    dispute = await ctx.write(lambda: ctx.webhooks.open_dispute(merchant, order_id, status))
    location = f"{ctx.base_url(request)}/_sandbox/orders/{order_id}/disputes/{dispute.dispute_id}"
    return _json(render_dispute(dispute), 201, {"Location": location})


async def list_disputes(request: Request) -> Response:
    ctx, merchant = _context(request)
    order_id = request.path_params["order_id"]
    found = await ctx.read(lambda: ctx.webhooks.list_disputes(merchant, order_id))
    return _json({"disputes": [render_dispute(d) for d in found]})


async def read_dispute(request: Request) -> Response:
    ctx, merchant = _context(request)
    order_id, dispute_id = request.path_params["order_id"], request.path_params["dispute_id"]
    found = await ctx.read(lambda: ctx.webhooks.get_dispute(merchant, order_id, dispute_id))
    return _json(render_dispute(found))


async def update_dispute(request: Request) -> Response:
    ctx, merchant = _context(request)
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    order_id, dispute_id = request.path_params["order_id"], request.path_params["dispute_id"]
    status = body.get("status")
    changed = await ctx.write(
        lambda: ctx.webhooks.update_dispute(merchant, order_id, dispute_id, status)
    )
    return _json(render_dispute(changed))


ONE = WEBHOOKS + "/{destination_id:order_id}"  # printable ids only (see `web.paths`)
DISPUTES = f"/_sandbox/orders/{ORDER_ID}/disputes"
ROUTES = [
    Route(WEBHOOKS, create_destination, methods=["POST"]),
    Route(WEBHOOKS, list_destinations, methods=["GET"]),
    Route(ONE, read_destination, methods=["GET"]),
    Route(ONE, delete_destination, methods=["DELETE"]),
    Route(ONE + "/rotate-secret", rotate_secret, methods=["POST"]),
    Route(ONE + "/test", send_test, methods=["POST"]),
    Route(DISPUTES, open_dispute, methods=["POST"]),
    Route(DISPUTES, list_disputes, methods=["GET"]),
    Route(DISPUTES + "/{dispute_id:order_id}", read_dispute, methods=["GET"]),
    Route(DISPUTES + "/{dispute_id:order_id}", update_dispute, methods=["POST"]),
]
