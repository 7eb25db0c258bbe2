"""What the handlers share: settings, the authenticator, the services, and where calls run."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from anyio import CapacityLimiter
from anyio.to_thread import run_sync
from starlette.requests import Request

from kco_sandbox.clock import MerchantClocks
from kco_sandbox.metrics import Metrics
from kco_sandbox.services.checkout import CheckoutService
from kco_sandbox.services.customer_tokens import CustomerTokenService
from kco_sandbox.services.delivery import DeliveryService
from kco_sandbox.services.health import HealthService
from kco_sandbox.services.hpp import HppService
from kco_sandbox.services.journal import JournalService
from kco_sandbox.services.order_actions import OrderActionsService
from kco_sandbox.services.order_management import OrderManagementService
from kco_sandbox.services.portal import PortalService
from kco_sandbox.services.purchase import PurchaseService
from kco_sandbox.services.sandbox import SandboxService
from kco_sandbox.services.settlements import SettlementService
from kco_sandbox.services.webhooks import WebhookService
from kco_sandbox.settings import Settings
from kco_sandbox.web.auth import Authenticator
from kco_sandbox.web.hosts import public_base

T = TypeVar("T")
# The threads `write` runs on: None is anyio's default limiter; the hosted page's posts, which
# may wait on a merchant, set their own (web/checkout_page/routes.py) to leave these to the API.
WRITE_THREADS: ContextVar[CapacityLimiter | None] = ContextVar("write_threads", default=None)


@dataclass(frozen=True, slots=True)
class Services:
    """The use-cases, built once by the composition root (`kco_sandbox.platform`)."""

    clock: MerchantClocks  # each merchant's own time
    checkout: CheckoutService
    purchase: PurchaseService
    management: OrderManagementService
    delivery: DeliveryService
    sandbox: SandboxService
    actions: OrderActionsService  # the portal's order actions and sandbox controls
    # Reads that finish in microseconds without waiting on locks or a network (SQLite in WAL
    # mode) run on the event loop; others go to a worker thread.
    reads_are_local: bool
    health: HealthService
    metrics: Metrics  # this app's own registry (see `kco_sandbox.metrics`)
    journal: JournalService  # the portal's journal, exports and live streams
    portal: PortalService  # the merchant portal's reads
    tokens: CustomerTokenService  # the Customer Token API (recurring charges)
    settlements: SettlementService  # the Settlements API and its sandbox controls
    hpp: HppService  # the Hosted Payment Page API and the shopper's page
    webhooks: WebhookService  # webhook destinations, their test events, sandbox disputes
    # Holds the store's writer for this thread if its writes can start right now (SQLite, the
    # writer free), else holds nothing and says False (`Store.hold_writer`).
    hold_writer: Callable[[], AbstractContextManager[bool]] = lambda: nullcontext(False)


@dataclass(frozen=True, slots=True)
class AppContext:
    settings: Settings
    auth: Authenticator
    services: Services
    # The key of the hosted checkout page's form tokens (`checkout_page.tokens`).
    form_key: bytes

    @property
    def clock(self) -> MerchantClocks:
        return self.services.clock

    @property
    def checkout(self) -> CheckoutService:
        return self.services.checkout

    @property
    def purchase(self) -> PurchaseService:
        return self.services.purchase

    @property
    def management(self) -> OrderManagementService:
        return self.services.management

    @property
    def delivery(self) -> DeliveryService:
        return self.services.delivery

    @property
    def sandbox(self) -> SandboxService:
        return self.services.sandbox

    @property
    def journal(self) -> JournalService:
        return self.services.journal

    @property
    def actions(self) -> OrderActionsService:
        return self.services.actions

    @property
    def webhooks(self) -> WebhookService:
        return self.services.webhooks

    def base_url(self, request: Request) -> str:
        """The public base URL: `--public-url`, else the scheme and the `Host` the client used
        when it is one of the server's own names, else the listen address (`web.hosts`)."""
        return public_base(self.settings, request.url.scheme, request.headers.get("host"))

    async def write(self, fn: Callable[[], T]) -> T:
        """Run a service call that writes: in a worker thread, as it may wait on a lock."""
        return await run_sync(fn, limiter=WRITE_THREADS.get())

    async def write_local(self, fn: Callable[[], T]) -> T:
        """Run a service call whose work is all local: its writes go to SQLite and it calls no
        merchant and waits on no lock that other threads hold for long. If the store's writer
        is free now, it runs right here, holding the writer: a write of a few rows costs little
        more than the hop to a worker thread and back (some 40 µs of CPU, and the wait for a
        thread) that it saves; else, and always on PostgreSQL, it goes to a worker thread as
        `write` does."""
        with self.services.hold_writer() as held:
            if held:
                return fn()
        return await run_sync(fn, limiter=WRITE_THREADS.get())

    async def read(self, fn: Callable[[], T]) -> T:
        """Run a service call that only reads.

        A SQLite read in WAL mode takes tens of microseconds and never waits for a lock, less than
        the hop to a worker thread costs, so it runs right here; a PostgreSQL read is a network
        round trip and goes to a worker thread.
        """
        if self.services.reads_are_local:
            return fn()
        return await run_sync(fn)
