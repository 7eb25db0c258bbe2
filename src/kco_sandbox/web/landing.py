"""`GET /`: what is running here, and where to go next.

A browser gets an HTML page (the portal's look and headers); a client that prefers
`application/json` (`Accept`) gets the same facts as JSON. No credentials are needed and nothing
secret is shown: the database is named by its engine only, never by its URL (which may hold a
password), and no merchant is named.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kco_sandbox import __version__
from kco_sandbox.web.api.order_management_render import om_time
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.portal.render import page

_encode = msgspec.json.Encoder().encode
# The answer depends on `Accept`, and it is of now: caches must not serve it to another client.
_HEADERS: Final = {"Vary": "Accept", "Cache-Control": "no-store"}
# The project's documentation, by file (the server does not serve it: these are names to find).
DOCS: Final = (
    ("docs/checkout-api.md", "the Checkout API v3"),
    ("docs/order-management.md", "the Order Management API v1"),
    ("docs/customer-token-api.md", "the Customer Token API v1 (recurring payments)"),
    ("docs/settlements-api.md", "the Settlements API v1 (payouts, transactions, reports)"),
    ("docs/hpp-api.md", "the Hosted Payment Page API v1 (pay by link)"),
    ("docs/checkout-page.md", "the hosted checkout page and its JavaScript API"),
    ("docs/callbacks.md", "checkout callbacks, pushes and notifications, the clock, faults"),
    ("docs/webhooks.md", "signed webhooks: destinations, events, signatures, retries"),
    ("docs/sandbox-api.md", "the sandbox's control API"),
    ("docs/demo-shop.md", "the demo shop"),
    ("docs/testing.md", "testing an integration against the sandbox"),
    ("docs/pytest-plugin.md", "the pytest plugin"),
    ("docs/portal.md", "the merchant portal"),
    ("docs/running-for-a-team.md", "running one server for a team"),
    ("docs/operations.md", "health, metrics, logs, retention"),
    ("docs/architecture.md", "how the code is organised"),
)


def _quality(accept: str, wanted: str) -> float:
    """The `q` that `accept` gives the media type `wanted` (its best matching range)."""
    kind = wanted.split("/")[0]
    best, specificity = 0.0, -1
    for part in accept.split(","):
        media, *params = [piece.strip() for piece in part.split(";")]
        media = media.lower()
        rank = 2 if media == wanted else 1 if media == f"{kind}/*" else 0 if media == "*/*" else -1
        if rank < 0 or rank < specificity:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if rank > specificity:
            best, specificity = q, rank
        else:
            best = max(best, q)
    return best


def wants_json(accept: str | None) -> bool:
    """JSON only when the client prefers it to HTML: a browser (and `*/*`) gets the page."""
    if not accept:
        return False
    return _quality(accept, "application/json") > _quality(accept, "text/html")


async def landing(request: Request) -> Response:
    ctx: AppContext = request.app.state.ctx
    checked = await ctx.read(ctx.services.health.check)
    settings = ctx.settings
    base = ctx.base_url(request)
    facts: dict[str, Any] = {
        "name": "kco-sandbox",
        "version": __version__,
        "status": "ok" if checked.ok else "unavailable",
        "database": {
            "engine": ctx.services.portal.database(),
            "status": "ok" if checked.database_ok else "unreachable",
        },
        "worker": checked.worker,
        "clock": om_time(checked.now),
        "profile": settings.profile,
        "sandbox_api": settings.sandbox_api,
        "api_base_url": base,
        "links": {
            "portal": f"{base}/portal",
            "demo_shop": f"{base}/demo" if settings.demo_shop_on else None,
            "health": f"{base}/_sandbox/health",
            "checkout_api": f"{base}/checkout/v3/orders",
            "order_management_api": f"{base}/ordermanagement/v1/orders",
        },
        "docs": [name for name, _ in DOCS],
    }
    if wants_json(request.headers.get("accept")):
        return Response(_encode(facts), media_type="application/json", headers=_HEADERS)
    return page(request, "landing.html", {"facts": facts, "docs": DOCS}, headers=_HEADERS)


ROUTES: Final = [Route("/", landing, methods=["GET"])]
