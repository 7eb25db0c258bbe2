"""What the handlers share: settings, the authenticator and the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from anyio.to_thread import run_sync
from starlette.requests import Request

from kco_sandbox.services.checkout import CheckoutService
from kco_sandbox.services.delivery import Timekeeping
from kco_sandbox.services.journal import CallLog
from kco_sandbox.services.order_management import ManagementService
from kco_sandbox.services.purchase import PurchaseService
from kco_sandbox.settings import Settings
from kco_sandbox.web.auth import Authenticator

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AppContext:
    settings: Settings
    auth: Authenticator
    checkout: CheckoutService
    purchase: PurchaseService
    management: ManagementService
    timekeeping: Timekeeping
    calls: CallLog

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
        if self.checkout.store.reads_are_local:
            return fn()
        return await run_sync(fn)
