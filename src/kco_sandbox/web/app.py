"""`build_app`: the Starlette application and its route table (the table of contents).

The services it serves come from the composition root, `kco_sandbox.platform`; nothing here
reaches storage.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route

from kco_sandbox.demo_shop import app as demo
from kco_sandbox.domain.errors import KcoError
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import new_uuid
from kco_sandbox.settings import Settings
from kco_sandbox.web.api import checkout as checkout_api
from kco_sandbox.web.api import customer_tokens as tokens_api
from kco_sandbox.web.api import hpp as hpp_api
from kco_sandbox.web.api import operations
from kco_sandbox.web.api import order_management as management_api
from kco_sandbox.web.api import sandbox as sandbox_api
from kco_sandbox.web.api import settlements as settlements_api
from kco_sandbox.web.api import webhooks as webhooks_api
from kco_sandbox.web.auth import Authenticator
from kco_sandbox.web.checkout_page import routes as pages
from kco_sandbox.web.checkout_page.tokens import new_form_key
from kco_sandbox.web.context import AppContext, Services
from kco_sandbox.web.errors import http_error_handler, internal_error_handler, kco_error_handler
from kco_sandbox.web.hosts import HostGuard, listen_url
from kco_sandbox.web.hpp_page import routes as hpp_pages
from kco_sandbox.web.landing import ROUTES as LANDING_ROUTES
from kco_sandbox.web.portal import mount as portal
from kco_sandbox.web.wire import WireMiddleware

ORDERS = "/checkout/v3/orders"

API_ROUTES = [
    Route(ORDERS, checkout_api.create_order, methods=["POST"]),
    Route(ORDERS + "/", checkout_api.create_order, methods=["POST"]),
    Route(ORDERS + "/{order_id}", checkout_api.read_order, methods=["GET"]),
    Route(ORDERS + "/{order_id}", checkout_api.update_order, methods=["POST"]),
    Route(ORDERS + "/{order_id}/abort", checkout_api.abort_order, methods=["POST"]),
]
# The vendor's API, then the shopper's pages, and the sandbox's control API; `build_app` mounts
# the demo shop at /demo (when `settings.demo_shop_on`), signed in as the first of the merchants
# it is given.
ROUTES = (
    API_ROUTES
    + management_api.ROUTES
    + tokens_api.ROUTES
    + settlements_api.ROUTES
    + hpp_api.ROUTES
    + pages.ROUTES
    + hpp_pages.ROUTES
)


def build_app(
    settings: Settings,
    services: Services,
    merchants: list[Merchant],
    form_key: bytes | None = None,
) -> Starlette:
    """The app; `form_key` keys the hosted checkout page's form tokens (a fresh one if None).

    `settings.port` must be the port the server listens on (`serve` sets it once bound, `--port
    0` included): the demo shop calls the platform there.
    """
    # The health probe stays on with `--no-sandbox-api`; the metrics go with the sandbox API.
    sandbox_routes = (
        (
            sandbox_api.ROUTES
            + tokens_api.SANDBOX_ROUTES
            + settlements_api.SANDBOX_ROUTES
            + hpp_api.SANDBOX_ROUTES
            + webhooks_api.ROUTES
            + operations.METRICS_ROUTES
        )
        if settings.sandbox_api
        else []
    )
    auth = Authenticator(merchants)
    observe = operations.request_observer(auth, services.metrics if settings.sandbox_api else None)
    app = Starlette(
        routes=ROUTES + operations.HEALTH_ROUTES + sandbox_routes + LANDING_ROUTES,
        middleware=[
            Middleware(
                WireMiddleware,
                new_id=new_uuid,
                record_call=services.sandbox.record_api_call,
                observe=observe,
            ),
            # Inside the wire conventions, so its 400 has them too; before any handler.
            Middleware(HostGuard, settings=settings),
        ],
        exception_handlers={
            KcoError: kco_error_handler,
            HTTPException: http_error_handler,
            Exception: internal_error_handler,
        },
    )
    app.router.redirect_slashes = False
    ctx = AppContext(
        settings=settings,
        auth=auth,
        services=services,
        form_key=form_key if form_key is not None else new_form_key(),
    )
    app.state.ctx = ctx
    portal.mount(app, ctx)
    if settings.demo_shop_on:
        # The shop calls the API where this server listens, never at a URL from a request.
        shop = demo.create_shop(shop_account(merchants), listen_url(settings), ctx.base_url)
        app.routes.extend(demo.mount("/demo", shop))
    return app


def shop_account(merchants: list[Merchant]) -> demo.ShopAccount | None:
    """The demo shop's account: the first active merchant, the one `serve` prints first."""
    if not merchants:
        return None
    first = merchants[0]
    return demo.ShopAccount(first.merchant_id, first.api_key, first.name, first.markets)
