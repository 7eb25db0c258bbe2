"""What the handlers share: settings, the authenticator and the services."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from kco_sandbox.services import CheckoutService
from kco_sandbox.settings import Settings
from kco_sandbox.web.auth import Authenticator


@dataclass(frozen=True, slots=True)
class AppContext:
    settings: Settings
    auth: Authenticator
    checkout: CheckoutService

    def base_url(self, request: Request) -> str:
        """The public base URL: the configured one, else the scheme and host the client used."""
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        host = request.headers.get("host") or f"{self.settings.host}:{self.settings.port}"
        return f"{request.url.scheme}://{host}"
