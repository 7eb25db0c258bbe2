"""`KcoClient`: the Checkout, Order Management and sandbox APIs of a kco-sandbox, blocking.

Each method runs one operation of `operations.py` over an `httpx.Client`; answers outside 2xx
raise `KcoApiError`. Network failures (refused connection, time-out) raise httpx's own errors.

The Customer Token API's methods come from `customer_tokens.TokenMethods`, the Hosted Payment
Page's from `hpp.HppMethods`, the Settlements API's from `settlements.SettlementMethods`, webhook
destinations and disputes from `webhooks.WebhookMethods`; each further API brings a mixin of its
own in the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx

from kco_sandbox.client import operations as op
from kco_sandbox.client.customer_tokens import TokenMethods
from kco_sandbox.client.hpp import HppMethods
from kco_sandbox.client.operations import Call, JsonObject, Operation
from kco_sandbox.client.session import (
    DEFAULT_TIMEOUT_SECONDS,
    client_options,
    request_options,
)
from kco_sandbox.client.settlements import SettlementMethods
from kco_sandbox.client.webhooks import WebhookMethods

T = TypeVar("T")


class KcoClient(TokenMethods, HppMethods, SettlementMethods, WebhookMethods):
    """A merchant's client of a kco-sandbox at `base_url`, signed in as `username`/`password`.

    Use it as a context manager, or `close()` it. `transport` is httpx's, e.g. to talk to an app
    in the same process.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self._http = httpx.Client(
            transport=transport, **client_options(self.base_url, username, password, timeout)
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KcoClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """Any other call (`path` relative to the base URL): the answer if it is a 2xx one, else
        `KcoApiError`. E.g. `request("PATCH", f"/ordermanagement/v1/orders/{id}/customer-details",
        json={"shipping_address": {...}})`."""
        wanted = {**(headers or {}), **op.idempotency_header(idempotency_key)}
        return self._send(Call(method, path, json, wanted))

    def _send(self, call: Call) -> httpx.Response:
        response = self._http.request(**request_options(call))
        return op.raise_for_status(response, call.redirects)

    def _run(self, operation: Operation[T]) -> T:
        try:
            call = next(operation)
            while True:
                call = operation.send(self._send(call))
        except StopIteration as done:
            return cast(T, done.value)
        finally:
            operation.close()

    # The Checkout API (`/checkout/v3/orders`).

    def create_order(self, body: Mapping[str, Any] | None = None, **fields: Any) -> JsonObject:
        """Create a checkout order: `body`, or without it the example order (`example_order()`),
        with `fields` replacing its top-level keys. Returns the order as created."""
        return self._run(op.create_order(body, fields))

    def read_order(self, order_id: str) -> JsonObject:
        """The checkout order, as `GET /checkout/v3/orders/{order_id}` shows it."""
        return self._run(op.read_order(order_id))

    def update_order(
        self, order_id: str, body: Mapping[str, Any] | None = None, **fields: Any
    ) -> JsonObject:
        """Update the checkout order with `body` and `fields` (only what is sent changes)."""
        return self._run(op.update_order(order_id, body, fields))

    def abort_order(self, order_id: str) -> JsonObject:
        """Abort the checkout order; it stays readable but can no longer change."""
        return self._run(op.abort_order(order_id))

    # The sandbox API (`/_sandbox/`).

    def complete(self, order_id: str, email: str | None = None, **fields: Any) -> JsonObject:
        """Buy as a shopper would (`POST /_sandbox/orders/{id}/complete`): `email` picks the
        persona (`anna+denied@example.com`, `+pend-accept-05`, ...); `fields` are the other
        fields of that call (`billing_address`, `payment_method`, `checkboxes`, ...)."""
        return self._run(op.complete(order_id, email, fields))

    def events(self, order_id: str) -> list[JsonObject]:
        """Everything recorded on the order: API calls, callbacks, purchase outcome, attempts."""
        return self._run(op.events(order_id))

    def callbacks(self, order_id: str) -> list[JsonObject]:
        """The push and notification attempts made so far (events whose kind ends `.attempt`:
        `push.attempt`, `notification.attempt`), each with its `url`, `status` and `error`."""
        return self._run(op.callbacks(order_id))

    def fraud_stop(self, order_id: str) -> JsonObject:
        """Queue a `FRAUD_RISK_STOPPED` notification for the order at once."""
        return self._run(op.fraud_stop(order_id))

    def clock(self) -> JsonObject:
        """This merchant's own clock: `{"now", "offset_seconds", "scale"}`."""
        return self._run(op.clock())

    def advance(self, duration: str | float | timedelta) -> JsonObject:
        """Move this merchant's own clock forward (`"2h"`, `"90m"`, `"1d"`, `"30s"`, seconds, or a
        `timedelta`; other merchants' time does not move). Answers after every callback of this
        merchant that fell due was attempted: `{"now", "attempted"}`."""
        return self._run(op.advance(duration))

    def faults(self) -> JsonObject:
        """The fault injection on this merchant's callbacks."""
        return self._run(op.faults())

    def set_faults(self, **faults: int) -> JsonObject:
        """Make the next callbacks misbehave: `drop`, `timeout`, `duplicate` (counts of
        attempts), `delay_ms`."""
        return self._run(op.set_faults(faults))

    def clear_faults(self) -> None:
        self._run(op.clear_faults())

    # The Order Management API (`/ordermanagement/v1/orders`).

    def om_order(self, order_id: str) -> JsonObject:
        """The Order Management order (after completion), with its captures and refunds."""
        return self._run(op.om_order(order_id))

    def captures(self, order_id: str) -> list[JsonObject]:
        return self._run(op.captures(order_id))

    def get_capture(self, order_id: str, capture_id: str) -> JsonObject:
        return self._run(op.get_capture(order_id, capture_id))

    def get_refund(self, order_id: str, refund_id: str) -> JsonObject:
        return self._run(op.get_refund(order_id, refund_id))

    def capture(
        self,
        order_id: str,
        amount: int | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> JsonObject:
        """Capture `amount` (minor units; None: all that remains authorized, read from the
        order first); `fields` are the capture's others (`order_lines`, `reference`,
        `shipping_info`, ...). Returns the capture made (`capture_id`, `captured_amount`, ...)."""
        return self._run(op.capture(order_id, amount, idempotency_key, fields))

    def refund(
        self,
        order_id: str,
        amount: int | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> JsonObject:
        """Refund `amount` (None: everything captured and not refunded yet). Returns the refund
        made (`refund_id`, `refunded_amount`, ...)."""
        return self._run(op.refund(order_id, amount, idempotency_key, fields))

    def acknowledge(self, order_id: str, *, idempotency_key: str | None = None) -> None:
        """Acknowledge the order: this stops the pushes."""
        self._run(op.om_write("POST", order_id, "/acknowledge", None, idempotency_key))

    def cancel(self, order_id: str, *, idempotency_key: str | None = None) -> None:
        self._run(op.om_write("POST", order_id, "/cancel", None, idempotency_key))

    def release_remaining_authorization(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> None:
        tail = "/release-remaining-authorization"
        self._run(op.om_write("POST", order_id, tail, None, idempotency_key))

    def extend_authorization_time(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> None:
        tail = "/extend-authorization-time"
        self._run(op.om_write("POST", order_id, tail, None, idempotency_key))

    def update_authorization(
        self,
        order_id: str,
        order_amount: int,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> None:
        """Change the authorized amount (`fields`: `description`, `order_lines`)."""
        body = {**fields, "order_amount": order_amount}
        self._run(op.om_write("PATCH", order_id, "/authorization", body, idempotency_key))

    def update_merchant_references(
        self, order_id: str, *, idempotency_key: str | None = None, **references: str
    ) -> None:
        """Set `merchant_reference1` and/or `merchant_reference2`."""
        tail = "/merchant-references"
        self._run(op.om_write("PATCH", order_id, tail, references, idempotency_key))

    def add_shipping_info(
        self,
        order_id: str,
        shipping_info: list[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> None:
        body = {"shipping_info": shipping_info}
        self._run(op.om_write("POST", order_id, "/shipping-info", body, idempotency_key))
