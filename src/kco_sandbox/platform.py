"""The composition root: the one place that builds the store's users, the services, the web app
and the delivery worker from `Settings`, and wires them together.

`kco-sandbox serve`, `kco-sandbox worker` and the tests all build the platform here, so every
entry point runs the same parts the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette

from kco_sandbox import __version__
from kco_sandbox.clock import MerchantClocks, MovableClock
from kco_sandbox.domain.callback_hosts import parse_patterns
from kco_sandbox.domain.delivery import Attempt, Callback, CallbackKind
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import IdFactory, new_uuid
from kco_sandbox.metrics import Metrics
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.outbound.worker import Round, Worker
from kco_sandbox.services.checkout import CheckoutService
from kco_sandbox.services.customer_tokens import CustomerTokenService
from kco_sandbox.services.delivery import DeliveryService, HeaderSource
from kco_sandbox.services.health import HealthService, WorkerState, worker_off
from kco_sandbox.services.hpp import HppService
from kco_sandbox.services.journal import JournalService
from kco_sandbox.services.order_actions import OrderActionsService
from kco_sandbox.services.order_management import OrderManagementService
from kco_sandbox.services.portal import PortalService
from kco_sandbox.services.purchase import PurchaseService
from kco_sandbox.services.purchase_terms import CallbackTimeouts
from kco_sandbox.services.retention import RetentionService
from kco_sandbox.services.sandbox import SandboxService
from kco_sandbox.services.settlements import SettlementService
from kco_sandbox.services.webhooks import WebhookService, WebhookSigner
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from kco_sandbox.web.app import build_app
from kco_sandbox.web.context import Services


def merchant_http(settings: Settings) -> MerchantHttp:
    """The edge to merchants, with where callbacks may go and each merchant's callback slots."""
    return MerchantHttp(
        callback_hosts=settings.callback_hosts,
        private_callbacks=settings.private_callbacks_on,
        slots=settings.merchant_callback_slots,
    )


def delivery_headers(store: Store) -> dict[CallbackKind, HeaderSource]:
    """The headers each kind of callback is sent with, made at each attempt: a webhook's
    Standard Webhooks signature."""
    return {CallbackKind.WEBHOOK: WebhookSigner(store)}


def delivery(
    store: Store,
    clocks: MerchantClocks,
    settings: Settings,
    http: MerchantHttp | None = None,
    on_attempt: Callable[[Callback, Attempt], None] | None = None,
) -> DeliveryService:
    """Callback delivery and the merchants' clocks that drive it, continuing at the stored
    offsets."""
    service = DeliveryService(
        clocks,
        store,
        http or merchant_http(settings),
        settings.delivery,
        on_attempt=on_attempt,
        headers=delivery_headers(store),
    )
    service.load()
    return service


def delivery_round(
    services: Services, poll: float = 1.0, prune: Callable[[], object] | None = None
) -> Round:
    """One round of the delivery worker in `serve`: deliver what is due, then write the buffered
    API call log (about once a `poll`, when no write transaction took it along), then `prune`
    (retention: it runs at most once a minute, in bounded batches, see `services/retention.py`)."""

    def run_round() -> float:
        pause = services.delivery.run_round(poll)
        services.sandbox.flush_api_calls()
        if prune is not None:
            prune()
        return pause

    return run_round


def build_services(
    settings: Settings,
    store: Store,
    clock: MovableClock,
    new_id: IdFactory = new_uuid,
    caller: MerchantHttp | None = None,
    worker_state: WorkerState = worker_off,
) -> Services:
    http = caller or merchant_http(settings)  # one edge for checkout callbacks and deliveries
    metrics = Metrics(__version__)  # a registry of this app's own
    clocks = MerchantClocks(clock)  # each merchant's own time over the platform's clock
    management = OrderManagementService(orders=store.orders, clock=clocks, new_id=new_id)
    return Services(
        clock=clocks,
        checkout=CheckoutService(
            store=store,
            clock=clocks,
            new_id=new_id,
            allow_http_callbacks=settings.allow_http_callbacks,
            callback_hosts=parse_patterns(settings.callback_hosts),
        ),
        purchase=PurchaseService(
            store=store,
            clock=clocks,
            caller=http,
            allow_http_callbacks=settings.allow_http_callbacks,
            timeouts=CallbackTimeouts(
                shipping_service=settings.shipping_callback_timeout,
                validation=settings.validation_timeout,
                validation_success_required=settings.validation_required_timeout,
            ),
            new_id=new_id,
            delivery=settings.delivery,
        ),
        management=management,
        delivery=delivery(store, clocks, settings, http, on_attempt=metrics.callback_attempt),
        sandbox=SandboxService(store=store, clock=clocks, new_id=new_id),
        actions=OrderActionsService(
            store=store,
            clock=clocks,
            new_id=new_id,
            management=management,
            delivery=settings.delivery,
        ),
        reads_are_local=store.reads_are_local,
        health=HealthService(store, clocks, worker_state),
        metrics=metrics,
        journal=JournalService(store=store),
        portal=PortalService(store=store, clock=clocks),
        tokens=CustomerTokenService(store=store, clock=clocks, new_id=new_id),
        settlements=SettlementService(
            store=store,
            clock=clocks,
            schedule=settings.settlement_schedule,
            default_fee=settings.settlement_fee,
            new_id=new_id,
        ),
        hpp=HppService(
            store=store,
            clock=clocks,
            new_id=new_id,
            allow_http_callbacks=settings.allow_http_callbacks,
            callback_hosts=parse_patterns(settings.callback_hosts),
            email_limit=settings.hpp_email_limit,
            sms_limit=settings.hpp_sms_limit,
        ),
        webhooks=WebhookService(
            store=store,
            clock=clocks,
            new_id=new_id,
            allow_http=settings.allow_http_callbacks,
            callback_hosts=parse_patterns(settings.callback_hosts),
            max_destinations=settings.webhook_destinations,
            rotation_window=settings.webhook_rotation_window,
        ),
        hold_writer=store.hold_writer,
    )


def create_app(
    settings: Settings,
    store: Store,
    clock: MovableClock,
    merchants: list[Merchant],
    new_id: IdFactory = new_uuid,
    caller: MerchantHttp | None = None,
) -> Starlette:
    """The web app over `store`, serving `merchants` (the ones that may sign in)."""
    services = build_services(settings, store, clock, new_id, caller)
    return build_app(settings, services, merchants, form_key(store))


FORM_KEY = "checkout_form_key"


def form_key(store: Store) -> bytes:
    """The key of the hosted checkout page's form tokens, made once and kept with the data: a
    page stays valid across a restart and in every process serving the same database."""
    return bytes.fromhex(store.state.setdefault(FORM_KEY, secrets.token_hex(32)))


@dataclass(frozen=True, slots=True)
class Platform:
    """Everything `kco-sandbox serve` runs: the app, its services, and (optionally) the worker."""

    app: Starlette
    services: Services
    worker: Worker | None


def build_platform(
    settings: Settings, store: Store, clock: MovableClock, merchants: list[Merchant]
) -> Platform:
    worker: Worker | None = None

    def worker_state() -> str:
        """The worker built below, once it is: health reports whether its thread still runs."""
        return worker.state if worker is not None else "off"

    services = build_services(settings, store, clock, worker_state=worker_state)
    app = build_app(settings, services, merchants, form_key(store))
    # Each merchant's orders are judged on that merchant's own clock.
    retention = RetentionService(store, settings.retention_days, services.clock.now)
    worker = (
        Worker(delivery_round(services, prune=retention.prune_if_due)) if settings.worker else None
    )
    return Platform(app=app, services=services, worker=worker)
