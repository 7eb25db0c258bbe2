"""What the handlers share: settings, the authenticator, the services, and where calls run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from anyio.to_thread import run_sync
from starlette.requests import Request

from kco_sandbox.clock import Clock
from kco_sandbox.metrics import Metrics
from kco_sandbox.services.checkout import CheckoutService
from kco_sandbox.services.delivery import DeliveryService
from kco_sandbox.services.health import HealthService
from kco_sandbox.services.order_management import OrderManagementService
from kco_sandbox.services.purchase import PurchaseService
from kco_sandbox.services.sandbox import SandboxService
from kco_sandbox.settings import Settings
from kco_sandbox.web.auth import Authenticator

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Services:
    """The use-cases, built once by the composition root (`kco_sandbox.platform`)."""

    clock: Clock
    checkout: CheckoutService
    purchase: PurchaseService
    management: OrderManagementService
    delivery: DeliveryService
    sandbox: SandboxService
    # Reads that finish in microseconds without waiting on locks or a network (SQLite in WAL
    # mode) run on the event loop; others go to a worker thread.
    reads_are_local: bool
    health: HealthService
    metrics: Metrics  # this app's own registry (see `kco_sandbox.metrics`)


@dataclass(frozen=True, slots=True)
class AppContext:
    settings: Settings
    auth: Authenticator
    services: Services

    @property
    def clock(self) -> Clock:
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

    def base_url(self, request: Request) -> str:
        """The public base URL: the configured one, else the scheme and host the client used."""
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        host = request.headers.get("host") or f"{self.settings.host}:{self.settings.port}"
        return f"{request.url.scheme}://{host}"

    async def write(self, fn: Callable[[], T]) -> T:
        """Run a service call that writes: in a worker thread, as it may wait on a lock."""
        return await run_sync(fn)

    async def read(self, fn: Callable[[], T]) -> T:
        """Run a service call that only reads.

        A SQLite read in WAL mode takes tens of microseconds and never waits for a lock, less than
        the hop to a worker thread costs, so it runs right here; a PostgreSQL read is a network
        round trip and goes to a worker thread.
        """
        if self.services.reads_are_local:
            return fn()
        return await run_sync(fn)
