"""The portal's Webhooks page: `GET /portal/webhooks` and its forms.

Lists the signed-in merchant's destinations (name, URL, events, signing secret behind a
disclosure, whether a rotated-out secret still signs), creates one (event checkboxes, or all
events), rotates a secret, queues a test event and deletes a destination: the same service calls
as `/_sandbox/webhooks` (`services/webhooks.py`), with the same rules and messages. The vendor
manages destinations in its Portal too, so the page is there with `--no-sandbox-api` as well.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from kco_sandbox.domain.errors import KcoError
from kco_sandbox.domain.webhook import ALL_EVENTS, EVENT_TYPES
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.errors import status_of
from kco_sandbox.web.portal.render import page
from kco_sandbox.web.portal.routes import posted_form, signed_in
from kco_sandbox.web.portal.session import PortalSession

DONE: Final = {
    "created": "The destination is created: copy its signing secret into your endpoint.",
    "rotated": "The secret is rotated: the old one signs beside it until the time shown.",
    "tested": "A webhook.test event is queued to the destination: see the journal for it.",
    "deleted": "The destination is deleted: its queued deliveries will not be sent.",
}
EVENT_NOTES: Final = {
    "order.created": "an order was created (a checkout completed, a token charged)",
    "capture.created": "a capture was made (API, auto-capture or the portal)",
    "refund.created": "a refund was made",
    "dispute.created": "a dispute was opened (sandbox API)",
    "dispute.updated": "a dispute's status changed (sandbox API)",
}


async def _render(
    request: Request,
    ctx: AppContext,
    session: PortalSession,
    error: dict[str, Any] | None = None,
    status: int = 200,
    values: dict[str, Any] | None = None,
) -> Response:
    merchant = session.merchant
    destinations = await ctx.read(lambda: ctx.webhooks.destinations(merchant))
    now = ctx.clock.now(merchant.merchant_id)
    done = request.query_params.get("done", "") if error is None else ""
    context = {
        "nav": "webhooks",
        "destinations": [
            {
                "d": d,
                "all_events": ALL_EVENTS in d.events,
                "rotating": d.previous_until is not None and now < d.previous_until,
            }
            for d in destinations
        ],
        "event_types": [(t, EVENT_NOTES.get(t, "")) for t in EVENT_TYPES],
        "limit": ctx.webhooks.max_destinations,
        "done": DONE.get(done, ""),
        "error": error,
        "values": values or {"events": []},
    }
    return page(request, "webhooks.html", context, session, status=status)


async def webhooks_page(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    session = signed_in(request)
    return await _render(request, ctx, session)


async def create(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    session = signed_in(request)
    form = await posted_form(request, session)
    events = [ALL_EVENTS] if form.get("all_events") else form.all("events")
    values = {"name": form.get("name"), "url": form.get("url"), "events": events}
    try:
        await ctx.write(
            lambda: ctx.webhooks.create(session.merchant, values["name"], values["url"], events)
        )
    except KcoError as exc:
        error = {"form": "create", "code": exc.code, "messages": exc.messages}
        return await _render(request, ctx, session, error, status_of(exc), values)
    return RedirectResponse("/portal/webhooks?done=created", status_code=303)


async def _act(request: Request, action: str) -> Response:
    ctx: AppContext = request.app.state.ctx
    session = signed_in(request)
    await posted_form(request, session)
    merchant = session.merchant
    destination_id = request.path_params["destination_id"]
    try:
        if action == "rotated":
            await ctx.write(lambda: ctx.webhooks.rotate_secret(merchant, destination_id))
        elif action == "tested":
            await ctx.write(lambda: ctx.webhooks.send_test(merchant, destination_id))
        else:
            await ctx.write(lambda: ctx.webhooks.delete(merchant, destination_id))
    except KcoError as exc:
        error = {"form": destination_id, "code": exc.code, "messages": exc.messages}
        return await _render(request, ctx, session, error, status_of(exc))
    return RedirectResponse(f"/portal/webhooks?done={action}", status_code=303)


async def rotate(request: Request) -> Response:
    return await _act(request, "rotated")


async def send_test(request: Request) -> Response:
    return await _act(request, "tested")


async def delete(request: Request) -> Response:
    return await _act(request, "deleted")


ONE = "/webhooks/{destination_id:order_id}"
ROUTES: list[BaseRoute] = [
    Route("/webhooks", webhooks_page, methods=["GET"]),
    Route("/webhooks", create, methods=["POST"]),
    Route(ONE + "/rotate-secret", rotate, methods=["POST"]),
    Route(ONE + "/test", send_test, methods=["POST"]),
    Route(ONE + "/delete", delete, methods=["POST"]),
]
