"""`GET /portal/orders`: the signed-in merchant's checkout orders, newest first, 50 a page.

Query parameters (all optional, so every view is a link that can be shared or bookmarked):
`status` (a key of `services.portal.STATUS_FILTERS`), `q` (the start of an order id or of a
merchant reference), and one of `before` (older orders) or `after` (newer orders), the cursors
the page's own links carry.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kco_sandbox.services.portal import PAGE_SIZE, STATUS_FILTERS, OrdersQuery
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.portal.formatting import FORMAT
from kco_sandbox.web.portal.render import page
from kco_sandbox.web.portal.routes import signed_in


def _link(status: str | None, search: str | None, **cursor: str | None) -> str:
    """The list's URL with the current filter and `cursor` (`before` or `after`)."""
    params = {"status": status, "q": search, **cursor}
    query = urlencode({key: value for key, value in params.items() if value})
    return "/portal/orders" + (f"?{query}" if query else "")


async def orders_page(request: Request) -> Response:
    session = signed_in(request)
    ctx: AppContext = request.app.state.ctx
    params = request.query_params
    status = params.get("status") or None
    if status not in STATUS_FILTERS:
        status = None
    search = (params.get("q") or "").strip() or None
    query = OrdersQuery(
        status=status,
        search=search,
        before=params.get("before") or None,
        after=params.get("after") or None,
    )
    listed = await ctx.read(lambda: ctx.services.portal.orders(session.merchant, query))
    context = {
        "nav": "orders",
        "fmt": FORMAT,
        "rows": listed.rows,
        "now": listed.now,
        "status": status,
        "search": search,
        "statuses": STATUS_FILTERS,
        "filtered": status is not None or search is not None,
        "paged": query.before is not None or query.after is not None,
        "page_size": PAGE_SIZE,
        "newer": _link(status, search, after=listed.newer) if listed.newer else None,
        "older": _link(status, search, before=listed.older) if listed.older else None,
        "newest": _link(status, search),
        "base_url": ctx.base_url(request),
        "demo_shop": ctx.settings.demo_shop_on,
    }
    return page(request, "orders.html", context, session)


ROUTES: list[BaseRoute] = [Route("/orders", orders_page, methods=["GET"])]
