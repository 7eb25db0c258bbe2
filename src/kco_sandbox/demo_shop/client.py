"""The demo shop's client of the Checkout API: real HTTP calls to this server, as merchant code.

The shop signs in as the first active merchant, the one `kco-sandbox serve` prints first, and
goes through the public API like any shop would: it never touches the services or the store
behind it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import httpx

from kco_sandbox.domain.errors import Unauthorized
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.web.context import AppContext

ORDERS: Final = "/checkout/v3/orders"
TIMEOUT_SECONDS: Final = 15.0


class ApiProblem(Exception):
    """A call that did not give an order: the shop shows `message` to the shopper."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _signs_in(ctx: AppContext, merchant: Merchant) -> bool:
    token = base64.b64encode(f"{merchant.merchant_id}:{merchant.api_key}".encode()).decode()
    try:
        ctx.auth.merchant_for(f"Basic {token}")
    except Unauthorized:
        return False
    return True


def shop_merchant(ctx: AppContext) -> Merchant | None:
    """The first active merchant, as start-up chose them: the configured ones, else the stored.

    Only a merchant the running authenticator accepts qualifies, so the shop never signs in as
    one that could not.
    """
    candidates = list(ctx.settings.merchants) or ctx.checkout.store.list_merchants()
    return next((m for m in candidates if _signs_in(ctx, m)), None)


def _problem(response: httpx.Response) -> ApiProblem:
    """What went wrong, in the API's own words when it gave any."""
    messages: list[str] = []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("error_code")
        found = body.get("error_messages")
        if isinstance(found, list):
            messages = [str(m) for m in found if m]
        if code and not messages:
            messages = [str(code)]
    if response.status_code == 404 and not messages:
        messages = ["The order does not exist or has expired."]
    detail = "; ".join(messages) or response.reason_phrase
    return ApiProblem(
        response.status_code, f"The Checkout API answered {response.status_code}: {detail}"
    )


@dataclass(frozen=True, slots=True)
class CheckoutClient:
    """`POST` and `GET /checkout/v3/orders…` on `base`, with the merchant's Basic credentials."""

    base: str
    merchant: Merchant

    async def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        auth = (self.merchant.merchant_id, self.merchant.api_key)
        try:
            async with httpx.AsyncClient(
                base_url=self.base, auth=auth, timeout=TIMEOUT_SECONDS, trust_env=False
            ) as client:
                response = await client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ApiProblem(
                502, f"The Checkout API at {self.base} could not be reached: {exc!r}"
            ) from None
        if not response.is_success:
            raise _problem(response)
        try:
            order = response.json()
        except ValueError:
            raise ApiProblem(
                502, "The Checkout API answered with something that is not JSON."
            ) from None
        if not isinstance(order, dict) or not isinstance(order.get("order_id"), str):
            raise ApiProblem(502, "The Checkout API answered without an order.")
        return order

    async def create_order(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /checkout/v3/orders`: the created order."""
        order: dict[str, Any] = await self._send("POST", ORDERS, body)
        return order

    async def read_order(self, order_id: str) -> dict[str, Any]:
        """`GET /checkout/v3/orders/{order_id}`: the order as the merchant reads it."""
        order: dict[str, Any] = await self._send("GET", f"{ORDERS}/{quote(order_id, safe='')}")
        return order
