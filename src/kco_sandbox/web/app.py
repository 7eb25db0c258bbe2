"""`create_app`: the Starlette application and its route table (the table of contents)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route

from kco_sandbox.clock import MovableClock
from kco_sandbox.demo_shop import app as demo
from kco_sandbox.domain.errors import KcoError
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import IdFactory, new_uuid
from kco_sandbox.outbound.dispatcher import Dispatcher
from kco_sandbox.outbound.merchant_http import MerchantCaller
from kco_sandbox.services.checkout import CheckoutService
from kco_sandbox.services.delivery import Timekeeping
from kco_sandbox.services.journal import CallLog
from kco_sandbox.services.order_management import ManagementService
from kco_sandbox.services.purchase import CallbackTimeouts, PurchaseService
from kco_sandbox.settings import Settings
from kco_sandbox.store.engine import SqlStore
from kco_sandbox.store.orders import ManagementStore
from kco_sandbox.store.outbox import OutboxStore
from kco_sandbox.web.api import checkout as checkout_api
from kco_sandbox.web.api import order_management as management_api
from kco_sandbox.web.api import sandbox as sandbox_api
from kco_sandbox.web.auth import Authenticator
from kco_sandbox.web.checkout_page import routes as pages
from kco_sandbox.web.context import AppContext
from kco_sandbox.web.errors import http_error_handler, internal_error_handler, kco_error_handler
from kco_sandbox.web.wire import WireMiddleware

ORDERS = "/checkout/v3/orders"

API_ROUTES = [
    Route(ORDERS, checkout_api.create_order, methods=["POST"]),
    Route(ORDERS + "/", checkout_api.create_order, methods=["POST"]),
    Route(ORDERS + "/{order_id}", checkout_api.read_order, methods=["GET"]),
    Route(ORDERS + "/{order_id}", checkout_api.update_order, methods=["POST"]),
    Route(ORDERS + "/{order_id}/abort", checkout_api.abort_order, methods=["POST"]),
]
# The vendor's API, then the shopper's pages, the demo shop, and the sandbox's control API.
ROUTES = API_ROUTES + management_api.ROUTES + pages.ROUTES + demo.ROUTES


def create_app(
    settings: Settings,
    store: SqlStore,
    clock: MovableClock,
    merchants: list[Merchant],
    new_id: IdFactory = new_uuid,
    caller: MerchantCaller | None = None,
) -> Starlette:
    calls = CallLog(store, clock)
    app = Starlette(
        routes=ROUTES + (sandbox_api.ROUTES if settings.sandbox_api else []),
        middleware=[Middleware(WireMiddleware, new_id=new_uuid, calls=calls)],
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
        purchase=PurchaseService(
            store=store,
            clock=clock,
            caller=caller or MerchantCaller(),
            allow_http_callbacks=settings.allow_http_callbacks,
            timeouts=CallbackTimeouts(
                shipping_service=settings.shipping_callback_timeout,
                validation=settings.validation_timeout,
                validation_success_required=settings.validation_required_timeout,
            ),
            new_id=new_id,
            delivery=settings.delivery,
        ),
        management=ManagementService(orders=ManagementStore(store), clock=clock, new_id=new_id),
        timekeeping=timekeeping(store, clock, settings),
        calls=calls,
    )
    return app


def timekeeping(store: SqlStore, clock: MovableClock, settings: Settings) -> Timekeeping:
    """The clock control and the dispatcher it drives, continuing at the stored offset."""
    outbox = OutboxStore(store)
    kept = Timekeeping(clock, outbox, Dispatcher(outbox, clock, settings.delivery))
    kept.load()
    return kept
