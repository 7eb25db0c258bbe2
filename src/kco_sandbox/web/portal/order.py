"""`GET /portal/orders/{order_id}`: one order as both APIs answer it, and its timeline.

The page shows what `GET /checkout/v3/orders/{id}` and, once the checkout completed,
`GET /ordermanagement/v1/orders/{id}` return, rendered by the same functions those APIs use (so
the raw JSON under each section is exactly the API's), then the order's timeline, oldest first,
100 entries a page (`?after=` the cursor of the "Later entries" link).

Another merchant's order, or an id that names none, is the portal's 404 page: the same answer
either way, so a page cannot tell whether someone else's order exists.

The actions area (`_actions.html`), the live updates of `#timeline` and the export routes are
other modules' (`actions.py`, `live.py`, `export.py`); this page leaves them their places.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kco_sandbox.domain.errors import BadValue, NotFound
from kco_sandbox.web.api.checkout_render import render_order
from kco_sandbox.web.api.order_management_render import render_om_order
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.portal.formatting import FORMAT
from kco_sandbox.web.portal.render import page
from kco_sandbox.web.portal.routes import signed_in
from kco_sandbox.web.portal.session import PortalSession

TIMELINE_PAGE: Final = 100


def timeline_entries(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of a timeline page, each with `group` (which part of the platform it came
    from, for its label and layout) and, for push and notification attempts, `attempt`: the
    number of the try of its callback on this page."""
    tries: Counter[str] = Counter()
    entries = []
    for event in events:
        kind = str(event.get("kind", ""))
        entry = dict(event)
        if kind == "api.call":
            entry["group"] = "api"
        elif kind.endswith(".attempt"):
            entry["group"] = "attempt"
            callback = str(event.get("callback_id", ""))
            tries[callback] += 1
            entry["attempt"] = tries[callback]
        elif kind.startswith("callback."):
            entry["group"] = "callback"
        elif kind.startswith("purchase."):
            entry["group"] = "shopper"
        elif kind == "portal.action":
            entry["group"] = "portal"
        elif kind == "clock.advanced":
            entry["group"] = "clock"
        elif kind.startswith("hpp."):
            entry["group"] = "hpp"
            entry["detail"] = {k: v for k, v in event.items() if k not in ("at", "kind")}
        else:
            entry["group"] = "other"
            entry["detail"] = {k: v for k, v in event.items() if k not in ("at", "kind")}
        entries.append(entry)
    return entries


async def order_page(request: Request) -> Response:
    session = signed_in(request)
    ctx: AppContext = request.app.state.ctx
    order_id: str = request.path_params["order_id"]
    try:
        view = await ctx.read(lambda: ctx.services.portal.order(session.merchant, order_id))
    except NotFound:
        return _not_found(request, session, order_id)
    after = request.query_params.get("after") or None
    # The API calls buffered since the last write join the timeline first (a write: a thread);
    # the live stream then starts where the page was read, so nothing falls in between.
    await ctx.write(ctx.sandbox.flush_api_calls)
    mark = await ctx.read(ctx.journal.mark)
    notice = None
    try:
        events, later = await ctx.read(
            lambda: ctx.sandbox.order_events(session.merchant, order_id, TIMELINE_PAGE, after)
        )
    except BadValue:
        # A mangled "Later entries" link: show the timeline from its start rather than an error.
        notice = "That timeline link was not valid; the timeline is shown from its start."
        after = None
        events, later = await ctx.read(
            lambda: ctx.sandbox.order_events(session.merchant, order_id, TIMELINE_PAGE, None)
        )
    merchant = session.merchant
    checkout = render_order(view.record, ctx.base_url(request), merchant.name)
    om = render_om_order(view.om, view.now) if view.om is not None else None
    context = {
        "nav": "orders",
        "fmt": FORMAT,
        "order_id": order_id,
        "record": view.record,
        "state": view.state,
        "now": view.now,
        "checkout": checkout,
        "currency": checkout["purchase_currency"],
        "om": om,
        "callbacks": view.callbacks,
        "entries": timeline_entries(events),
        "later": f"/portal/orders/{order_id}?after={later}#timeline" if later else None,
        # Only the last page grows: new entries arrive there, from where this page was read.
        "live": None if later else f"/portal/orders/{order_id}/live?from={quote(mark)}",
        "from_start": f"/portal/orders/{order_id}#timeline" if after else None,
        "timeline_page": TIMELINE_PAGE,
        "notice": notice,
    }
    return page(request, "order.html", context, session)


def _not_found(request: Request, session: PortalSession, order_id: str) -> Response:
    context = {"nav": "orders", "order_id": order_id}
    return page(request, "order_missing.html", context, session, status=404)


ROUTES: list[BaseRoute] = [Route("/orders/{order_id}", order_page, methods=["GET"])]
