"""The demo shop's client of the Checkout API: real HTTP calls to the platform, as merchant code.

The shop knows the platform only by its URL and the account it signs in with; it goes through the
public API like any shop would, never through the services or the store behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import httpx

ORDERS: Final = "/checkout/v3/orders"
TIMEOUT_SECONDS: Final = 15.0


@dataclass(frozen=True, slots=True)
class ShopAccount:
    """The merchant account the shop signs in with, as the platform handed it out."""

    username: str  # the Basic-auth user name (the merchant id)
    password: str  # the Basic-auth password (the API key)
    name: str  # the store name the platform puts on the orders
    markets: tuple[str, ...] | None = None  # countries it may sell in; None = anywhere


class ApiProblem(Exception):
    """A call that did not give an order: the shop shows `message` to the shopper."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
    """`POST` and `GET /checkout/v3/orders…` on `base`, with the account's Basic credentials.

    `host`, when given, is sent as the `Host`: the name the platform is reached by from outside,
    so the URLs it answers with (the snippet's) are the ones a browser can open, while the call
    itself goes to `base`.
    """

    base: str
    account: ShopAccount
    host: str | None = None

    async def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        auth = (self.account.username, self.account.password)
        try:
            async with httpx.AsyncClient(
                base_url=self.base, auth=auth, timeout=TIMEOUT_SECONDS, trust_env=False
            ) as client:
                headers = {"Host": self.host} if self.host else None
                response = await client.request(method, path, json=body, headers=headers)
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
