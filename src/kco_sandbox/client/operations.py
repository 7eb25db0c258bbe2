"""What each client call sends and makes of the answers, written once for both clients.

An operation is a generator: it yields the `Call`s it needs, one after another, receives each
successful answer, and returns its result. `KcoClient` drives it with blocking I/O,
`AsyncKcoClient` with `await`, so the two cannot drift apart. A call answered outside 2xx never
comes back to the operation: the driver raises `KcoApiError` instead.
"""

from __future__ import annotations

import copy
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import quote

import httpx

from kco_sandbox.client.duration import parse_duration
from kco_sandbox.client.errors import CORRELATION_HEADER, KcoApiError

T = TypeVar("T")
JsonObject = dict[str, Any]
Operation = Generator["Call", httpx.Response, T]

CHECKOUT: Final = "/checkout/v3/orders"
ORDER_MANAGEMENT: Final = "/ordermanagement/v1/orders"
SANDBOX: Final = "/_sandbox"
IDEMPOTENCY_HEADER: Final = "Klarna-Idempotency-Key"
# `advance` answers once every callback that fell due has been attempted, each attempt taking up
# to the server's callback time-out (10 s): a long jump may take minutes.
ADVANCE_TIMEOUT_SECONDS: Final = 600.0

_LINE: Final[JsonObject] = {
    "type": "physical",
    "reference": "19-402",
    "name": "T-Shirt",
    "quantity": 5,
    "unit_price": 10000,
    "tax_rate": 1000,
    "total_amount": 50000,
    "total_discount_amount": 0,
    "total_tax_amount": 4545,
}
_EXAMPLE_ORDER: Final[JsonObject] = {
    "purchase_country": "SE",
    "purchase_currency": "SEK",
    "locale": "sv-SE",
    "order_amount": 50000,
    "order_tax_amount": 4545,
    "order_lines": [_LINE],
    "merchant_urls": {
        "terms": "https://shop.example/terms",
        "checkout": "https://shop.example/checkout",
        "confirmation": "https://shop.example/thanks?order={checkout.order.id}",
        "push": "https://shop.example/push?order={checkout.order.id}",
    },
}


def example_order(**fields: Any) -> JsonObject:
    """The README's order (five T-shirts, SE/SEK/sv-SE, 500.00 kr) with `fields` replacing its
    top-level keys: `example_order(merchant_reference1="1001")`. A fresh copy each time."""
    return {**copy.deepcopy(_EXAMPLE_ORDER), **fields}


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request, relative to the client's base URL."""

    method: str
    path: str
    body: Any = None  # sent as JSON; None sends no body
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None  # None: the client's own
    # A redirect comes back to the operation instead of raising (it is never followed): how a
    # test sees where a page would send a browser.
    redirects: bool = False


def raise_for_status(response: httpx.Response, redirects: bool = False) -> httpx.Response:
    """`response` if it is a 2xx answer (or, with `redirects`, a redirect), else `KcoApiError`
    (its body must have been read)."""
    if not (response.is_success or (redirects and response.is_redirect)):
        raise KcoApiError.from_response(response)
    return response


def json_object(response: httpx.Response) -> JsonObject:
    """A successful answer's JSON object."""
    body = _json(response)
    if not isinstance(body, dict):
        raise unexpected(response, "a JSON object")
    return body


def json_array(response: httpx.Response) -> list[JsonObject]:
    """A successful answer's JSON array."""
    body = _json(response)
    if not isinstance(body, list):
        raise unexpected(response, "a JSON array")
    return body


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def unexpected(response: httpx.Response, expected: str) -> KcoApiError:
    """A 2xx answer without what it should hold: the server broke its own contract."""
    return KcoApiError(
        response.status_code,
        error_messages=[f"expected {expected} in the answer"],
        correlation_id=response.headers.get(CORRELATION_HEADER),
        method=response.request.method,
        url=str(response.request.url),
        body=response.text,
    )


def quote_id(value: str) -> str:
    """`value` as one path segment (an id with `/` or `?` in it stays one)."""
    return quote(value, safe="")


def idempotency_header(idempotency_key: str | None) -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: idempotency_key} if idempotency_key else {}


def _object(call: Call) -> Operation[JsonObject]:
    return json_object((yield call))


def _no_content(call: Call) -> Operation[None]:
    yield call


def _merged(body: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> JsonObject:
    return {**(body or {}), **fields}


# The Checkout API.


def create_order(
    body: Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> Operation[JsonObject]:
    order = example_order(**fields) if body is None else _merged(body, fields)
    return _object(Call("POST", CHECKOUT, order))


def read_order(order_id: str) -> Operation[JsonObject]:
    return _object(Call("GET", f"{CHECKOUT}/{quote_id(order_id)}"))


def update_order(
    order_id: str, body: Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> Operation[JsonObject]:
    return _object(Call("POST", f"{CHECKOUT}/{quote_id(order_id)}", _merged(body, fields)))


def abort_order(order_id: str) -> Operation[JsonObject]:
    return _object(Call("POST", f"{CHECKOUT}/{quote_id(order_id)}/abort"))


# The Order Management API.


def _om(order_id: str, tail: str = "") -> str:
    return f"{ORDER_MANAGEMENT}/{quote_id(order_id)}{tail}"


def om_order(order_id: str) -> Operation[JsonObject]:
    return _object(Call("GET", _om(order_id)))


def om_write(
    method: str, order_id: str, tail: str, body: Any, idempotency_key: str | None
) -> Operation[None]:
    """An Order Management change answered `204`: acknowledge, cancel, release, ..."""
    return _no_content(Call(method, _om(order_id, tail), body, idempotency_header(idempotency_key)))


def captures(order_id: str) -> Operation[list[JsonObject]]:
    return json_array((yield Call("GET", _om(order_id, "/captures"))))


def get_capture(order_id: str, capture_id: str) -> Operation[JsonObject]:
    return _object(Call("GET", _om(order_id, f"/captures/{quote_id(capture_id)}")))


def get_refund(order_id: str, refund_id: str) -> Operation[JsonObject]:
    return _object(Call("GET", _om(order_id, f"/refunds/{quote_id(refund_id)}")))


def capture(
    order_id: str, amount: int | None, idempotency_key: str | None, fields: Mapping[str, Any]
) -> Operation[JsonObject]:
    """Capture `amount` (None: what remains authorized), then read the capture made."""
    if amount is None:
        order = json_object((yield Call("GET", _om(order_id))))
        amount = int(order["remaining_authorized_amount"])
    body = {**fields, "captured_amount": amount}
    created = yield Call(
        "POST", _om(order_id, "/captures"), body, idempotency_header(idempotency_key)
    )
    return (yield from get_capture(order_id, created.headers["Capture-Id"]))


def refund(
    order_id: str, amount: int | None, idempotency_key: str | None, fields: Mapping[str, Any]
) -> Operation[JsonObject]:
    """Refund `amount` (None: everything captured and not refunded yet), then read the refund."""
    if amount is None:
        order = json_object((yield Call("GET", _om(order_id))))
        amount = int(order["captured_amount"]) - int(order["refunded_amount"])
    body = {**fields, "refunded_amount": amount}
    created = yield Call(
        "POST", _om(order_id, "/refunds"), body, idempotency_header(idempotency_key)
    )
    return (yield from get_refund(order_id, created.headers["Refund-Id"]))


# The sandbox's own API.


def complete(order_id: str, email: str | None, fields: Mapping[str, Any]) -> Operation[JsonObject]:
    body = dict(fields) if email is None else {**fields, "email": email}
    return _object(Call("POST", f"{SANDBOX}/orders/{quote_id(order_id)}/complete", body))


def events(order_id: str) -> Operation[list[JsonObject]]:
    """The whole timeline: every page, following each page's `next` cursor."""
    path = f"{SANDBOX}/orders/{quote_id(order_id)}/events?limit=1000"
    timeline = json_object((yield Call("GET", path)))
    found = list(timeline["events"])
    while timeline.get("next"):
        page = f"{path}&after={quote(str(timeline['next']), safe='')}"
        timeline = json_object((yield Call("GET", page)))
        found += timeline["events"]
    return found


def callbacks(order_id: str) -> Operation[list[JsonObject]]:
    """The push and notification attempts so far, oldest first."""
    timeline = yield from events(order_id)
    return [event for event in timeline if str(event.get("kind", "")).endswith(".attempt")]


def fraud_stop(order_id: str) -> Operation[JsonObject]:
    return _object(Call("POST", f"{SANDBOX}/orders/{quote_id(order_id)}/fraud-stop"))


def clock() -> Operation[JsonObject]:
    return _object(Call("GET", f"{SANDBOX}/clock"))


def advance(duration: str | float | timedelta) -> Operation[JsonObject]:
    body = {"seconds": parse_duration(duration)}
    return _object(Call("POST", f"{SANDBOX}/clock/advance", body, timeout=ADVANCE_TIMEOUT_SECONDS))


def faults() -> Operation[JsonObject]:
    return _object(Call("GET", f"{SANDBOX}/callbacks/faults"))


def set_faults(wanted: Mapping[str, int]) -> Operation[JsonObject]:
    return _object(Call("PUT", f"{SANDBOX}/callbacks/faults", dict(wanted)))


def clear_faults() -> Operation[None]:
    return _no_content(Call("DELETE", f"{SANDBOX}/callbacks/faults"))


class Runs(Protocol):
    """What an API's methods need of `KcoClient`: a way to run one `Operation`."""

    def _run(self, operation: Operation[T]) -> T: ...


class RunsAsync(Protocol):
    """The same of `AsyncKcoClient`."""

    async def _run(self, operation: Operation[T]) -> T: ...
