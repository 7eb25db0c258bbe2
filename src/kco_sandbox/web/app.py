"""`create_app`: the Starlette application and its route table (the table of contents)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route

from kco_sandbox.clock import Clock
from kco_sandbox.domain.errors import KcoError
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import IdFactory, new_uuid
from kco_sandbox.services import CheckoutService
from kco_sandbox.settings import Settings
from kco_sandbox.store.sql import SqlStore
from kco_sandbox.web import checkout_api, pages
from kco_sandbox.web.auth import Authenticator
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.errors import http_error_handler, internal_error_handler, kco_error_handler
from kco_sandbox.web.wire import WireMiddleware

ORDERS = "/checkout/v3/orders"

ROUTES = [
    Route(ORDERS, checkout_api.create_order, methods=["POST"]),
    Route(ORDERS + "/", checkout_api.create_order, methods=["POST"]),
    Route(ORDERS + "/{order_id}", checkout_api.read_order, methods=["GET"]),
    Route(ORDERS + "/{order_id}", checkout_api.update_order, methods=["POST"]),
    Route(ORDERS + "/{order_id}/abort", checkout_api.abort_order, methods=["POST"]),
    Route("/kco/checkout.bootstrap.js", pages.bootstrap_script, methods=["GET"]),
    Route("/kco/checkout/{order_id}", pages.checkout_page, methods=["GET"]),
]


def create_app(
    settings: Settings,
    store: SqlStore,
    clock: Clock,
    merchants: list[Merchant],
    new_id: IdFactory = new_uuid,
) -> Starlette:
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(WireMiddleware, new_id=new_uuid)],
        exception_handlers={
            KcoError: kco_error_handler,
            HTTPException: http_error_handler,
            Exception: internal_error_handler,
        },
    )
    app.router.redirect_slashes = False
    app.state.ctx = AppContext(
        settings=settings,
        auth=Authenticator(merchants),
        checkout=CheckoutService(
            store=store,
            clock=clock,
            new_id=new_id,
            allow_http_callbacks=settings.allow_http_callbacks,
        ),
    )
    return app
