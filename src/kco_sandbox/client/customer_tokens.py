"""The Customer Token API (recurring payments) for both clients: its operations, written once,
and the methods `KcoClient` takes from `TokenMethods` and `AsyncKcoClient` from
`AsyncTokenMethods`.

An API beyond Checkout, Order Management and the sandbox's core gets a module like this one
(its operations and one mixin per client), so adding it to the clients is one base class each
and `sync.py` and `asynchronous.py` stay the size they are. The mixins only need the client's
`_run`, which the `Runs` and `RunsAsync` protocols of `operations.py` name.

A token is minted by a shopper completing a checkout order created with `recurring: true`;
`mint_token` does that in one call (create, complete, read the order's `recurring_token`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from kco_sandbox.client.operations import (
    CHECKOUT,
    SANDBOX,
    Call,
    JsonObject,
    Operation,
    Runs,
    RunsAsync,
    complete,
    create_order,
    example_order,
    idempotency_header,
    json_object,
    quote_id,
    unexpected,
)

TOKENS: Final = "/customer-token/v1/tokens"

# One T-shirt a month, 100.00 kr with 25 % VAT: the subscription of the examples.
_SUBSCRIPTION_LINE: Final[JsonObject] = {
    "type": "physical",
    "reference": "19-402-M",
    "name": "T-Shirt of the month",
    "quantity": 1,
    "unit_price": 10000,
    "tax_rate": 2500,
    "total_amount": 10000,
    "total_discount_amount": 0,
    "total_tax_amount": 2000,
    "subscription": {"name": "T-Shirt of the month", "interval": "MONTH", "interval_count": 1},
}
_AMOUNTS: Final[JsonObject] = {"order_amount": 10000, "order_tax_amount": 2000}


def example_subscription_order(**fields: Any) -> JsonObject:
    """The example order (`example_order()`, SE/SEK/sv-SE) as the first month of a subscription:
    `recurring: true` and one subscription line of 100.00 kr, with `fields` replacing its
    top-level keys. Completing it mints a customer token. A fresh copy each time."""
    wanted = {"recurring": True, "order_lines": [copy.deepcopy(_SUBSCRIPTION_LINE)], **_AMOUNTS}
    return example_order(**{**wanted, **fields})


def example_token_order(**fields: Any) -> JsonObject:
    """A charge of a token (the vendor's `customer_token_order`): the next month of
    `example_subscription_order()`, 100.00 kr in SEK, with `fields` replacing its top-level keys.
    A fresh copy each time."""
    body: JsonObject = {
        "purchase_currency": "SEK",
        **_AMOUNTS,
        "order_lines": [copy.deepcopy(_SUBSCRIPTION_LINE)],
    }
    return {**body, **fields}


def _token(token: str, tail: str = "") -> str:
    return f"{TOKENS}/{quote_id(token)}{tail}"


def read_token(token: str) -> Operation[JsonObject]:
    return json_object((yield Call("GET", _token(token))))


def charge_token(
    token: str,
    body: Mapping[str, Any] | None,
    auto_capture: bool | None,
    idempotency_key: str | None,
    fields: Mapping[str, Any],
) -> Operation[JsonObject]:
    order = example_token_order(**fields) if body is None else {**body, **fields}
    if auto_capture is not None:
        order["auto_capture"] = auto_capture
    headers = idempotency_header(idempotency_key)
    return json_object((yield Call("POST", _token(token, "/order"), order, headers)))


def cancel_token(token: str) -> Operation[None]:
    yield Call("PATCH", _token(token, "/status"), {"status": "CANCELLED"})


def set_token_status(token: str, status: str) -> Operation[JsonObject]:
    """The sandbox's switch for what only the platform does: suspend or reinstate a token."""
    path = f"{SANDBOX}/customer-tokens/{quote_id(token)}"
    return json_object((yield Call("PATCH", path, {"status": status})))


def mint_token(
    email: str | None, order: Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> Operation[str]:
    """Create a recurring checkout order, complete it as the shopper `email`, and read the
    token it minted."""
    body = {**(order if order is not None else example_subscription_order()), "recurring": True}
    order_id = str((yield from create_order(body, {}))["order_id"])
    yield from complete(order_id, email, fields)
    answer = yield Call("GET", f"{CHECKOUT}/{quote_id(order_id)}")
    token = json_object(answer).get("recurring_token")
    if not isinstance(token, str) or not token:
        raise unexpected(answer, "a recurring_token on the completed order")
    return token


class TokenMethods:
    """`KcoClient`'s methods of the Customer Token API (`/customer-token/v1/tokens`)."""

    def mint_token(
        self: Runs,
        email: str | None = None,
        *,
        order: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> str:
        """A new customer token: creates `order` (default `example_subscription_order()`) with
        `recurring: true`, completes it as the shopper `email` (the persona of every later
        charge; `fields` as for `complete`, e.g. `payment_method="card"`) and returns the
        completed order's `recurring_token`."""
        return self._run(mint_token(email, order, fields))

    def read_token(self: Runs, token: str) -> JsonObject:
        """The token: `{status, payment_method_type, card?, direct_debit?}`."""
        return self._run(read_token(token))

    def charge_token(
        self: Runs,
        token: str,
        body: Mapping[str, Any] | None = None,
        *,
        auto_capture: bool | None = None,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> JsonObject:
        """Charge the token (`POST .../order`): `body`, or without it `example_token_order()`,
        with `fields` replacing its top-level keys; `auto_capture=True` captures it in full at
        once. Returns `{order_id, fraud_status, authorized_payment_method}`; the order is an
        Order Management order (`om_order(order_id)`)."""
        return self._run(charge_token(token, body, auto_capture, idempotency_key, fields))

    def cancel_token(self: Runs, token: str) -> None:
        """Cancel the token for good (`PATCH .../status`, `CANCELLED`); later charges get
        `403 TOKEN_CANCELLED`."""
        self._run(cancel_token(token))

    def suspend_token(self: Runs, token: str) -> JsonObject:
        """Suspend the token as the platform would (a sandbox switch); charges get
        `403 TOKEN_SUSPENDED` until `reinstate_token`. Returns the token."""
        return self._run(set_token_status(token, "SUSPENDED"))

    def reinstate_token(self: Runs, token: str) -> JsonObject:
        """Make a suspended token `ACTIVE` again (a sandbox switch). Returns the token."""
        return self._run(set_token_status(token, "ACTIVE"))


class AsyncTokenMethods:
    """`AsyncKcoClient`'s methods of the Customer Token API: `TokenMethods`, awaited."""

    async def mint_token(
        self: RunsAsync,
        email: str | None = None,
        *,
        order: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> str:
        """A new customer token (see `KcoClient.mint_token`)."""
        return await self._run(mint_token(email, order, fields))

    async def read_token(self: RunsAsync, token: str) -> JsonObject:
        """The token: `{status, payment_method_type, card?, direct_debit?}`."""
        return await self._run(read_token(token))

    async def charge_token(
        self: RunsAsync,
        token: str,
        body: Mapping[str, Any] | None = None,
        *,
        auto_capture: bool | None = None,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> JsonObject:
        """Charge the token (see `KcoClient.charge_token`)."""
        return await self._run(charge_token(token, body, auto_capture, idempotency_key, fields))

    async def cancel_token(self: RunsAsync, token: str) -> None:
        """Cancel the token for good."""
        await self._run(cancel_token(token))

    async def suspend_token(self: RunsAsync, token: str) -> JsonObject:
        """Suspend the token as the platform would (a sandbox switch)."""
        return await self._run(set_token_status(token, "SUSPENDED"))

    async def reinstate_token(self: RunsAsync, token: str) -> JsonObject:
        """Make a suspended token `ACTIVE` again (a sandbox switch)."""
        return await self._run(set_token_status(token, "ACTIVE"))
