"""The Hosted Payment Page API (pay by link) for both clients: its operations, written once, and
the methods `KcoClient` takes from `HppMethods` and `AsyncKcoClient` from `AsyncHppMethods`.

A session wraps one open checkout order in a page the platform hosts; the merchant sends the
shopper to its `redirect_url`. Besides the vendor's four operations (create, read, disable,
distribute) and the sandbox's status control, two calls stand in for the shopper's browser:
`pay_hpp_session` opens the page and completes the order headless, and `hpp_result_url` asks
where the page would send the browser after the outcome (the merchant's `success`, `cancel`,
... URL), reading the redirect without following it.

The creation answer does not name the session's order (nor does a read before completion), so
paying takes the order id the test created the session for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from kco_sandbox.client.errors import CORRELATION_HEADER, KcoApiError
from kco_sandbox.client.operations import (
    CHECKOUT,
    SANDBOX,
    Call,
    JsonObject,
    Operation,
    Runs,
    RunsAsync,
    complete,
    json_object,
    quote_id,
)

SESSIONS: Final = "/hpp/v1/sessions"

# Where the example shop wants the shopper after each outcome; the page fills the placeholders.
# No `status_update`: a URL nobody answers would only be tried again, slowing `advance`.
_EXAMPLE_URLS: Final = {
    "success": "https://shop.example/thanks?order={{order_id}}&sid={{session_id}}",
    "cancel": "https://shop.example/cancelled?sid={{session_id}}",
    "back": "https://shop.example/cart?sid={{session_id}}",
    "failure": "https://shop.example/pay-again?sid={{session_id}}",
    "error": "https://shop.example/error?sid={{session_id}}",
}


def example_hpp_merchant_urls(**urls: str) -> JsonObject:
    """The example shop's `merchant_urls` of a session (`success`, `cancel`, `back`, `failure`,
    `error` on `https://shop.example`, with `{{session_id}}` and `{{order_id}}`), with `urls`
    replacing or adding keys: `example_hpp_merchant_urls(status_update=my_url)`. A fresh copy
    each time."""
    return {**_EXAMPLE_URLS, **urls}


def payment_session_url(order: str) -> str:
    """What names the order in a create request: an order id becomes the order's path, which
    the sandbox takes on its own; anything with a `/` (a full URL) is sent as it is."""
    return order if "/" in order else f"{CHECKOUT}/{quote_id(order)}"


def _session(session_id: str, tail: str = "") -> str:
    return f"{SESSIONS}/{quote_id(session_id)}{tail}"


def _page(session: Mapping[str, Any] | str) -> str:
    """The path of the shopper's page: from the created session's `redirect_url`, or that URL.

    Only the path is kept, so the call goes to the client's own base URL even when the server
    names itself otherwise (`--public-url`)."""
    url = session if isinstance(session, str) else session.get("redirect_url")
    if not isinstance(url, str) or "/" not in url:
        raise ValueError(
            "the shopper's page is named by the created session or its redirect_url, "
            f"not by {url!r}"
        )
    return urlsplit(url).path.rstrip("/")


def create_session(
    order: str,
    merchant_urls: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None,
    fields: Mapping[str, Any],
) -> Operation[JsonObject]:
    urls = example_hpp_merchant_urls() if merchant_urls is None else dict(merchant_urls)
    body: JsonObject = {"payment_session_url": payment_session_url(order), "merchant_urls": urls}
    if options is not None:
        body["options"] = dict(options)
    return json_object((yield Call("POST", SESSIONS, {**body, **fields})))


def read_session(session_id: str) -> Operation[JsonObject]:
    return json_object((yield Call("GET", _session(session_id))))


def disable_session(session_id: str) -> Operation[None]:
    yield Call("DELETE", _session(session_id))


def distribute_session(
    session_id: str, method: str, contact_information: Mapping[str, Any]
) -> Operation[None]:
    body = {"method": method, "contact_information": dict(contact_information)}
    yield Call("POST", _session(session_id, "/distribution"), body)


def set_session_status(session_id: str, status: str) -> Operation[JsonObject]:
    """The sandbox's control: move the session as its shopper would, or expire it."""
    path = f"{SANDBOX}/hpp/sessions/{quote_id(session_id)}"
    return json_object((yield Call("POST", path, {"status": status})))


def pay_session(
    session: Mapping[str, Any] | str, order_id: str, email: str | None, fields: Mapping[str, Any]
) -> Operation[JsonObject]:
    """Open the shopper's page (the session becomes `IN_PROGRESS`), then buy the order."""
    opened = yield Call("GET", _page(session), redirects=True)
    if opened.is_redirect:  # straight to its result: final, or the order cannot be paid
        raise _not_payable(opened)
    return (yield from complete(order_id, email, fields))


def result_url(session: Mapping[str, Any] | str) -> Operation[str | None]:
    """Where the page's result sends the browser, absolute; None for the platform's own result
    page (the merchant gave no URL for this outcome)."""
    answer = yield Call("GET", _page(session) + "/result", redirects=True)
    if not answer.is_redirect:
        return None
    return str(answer.url.join(answer.headers["Location"]))


def _not_payable(opened: httpx.Response) -> KcoApiError:
    target = opened.url.join(opened.headers["Location"])
    return KcoApiError(
        opened.status_code,
        error_messages=[
            f"the session cannot be paid (final, or its order can no longer be paid): "
            f"its page sends the shopper to {target}"
        ],
        correlation_id=opened.headers.get(CORRELATION_HEADER),
        method=opened.request.method,
        url=str(opened.request.url),
        body=opened.text,
    )


class HppMethods:
    """`KcoClient`'s methods of the Hosted Payment Page API (`/hpp/v1/sessions`)."""

    def create_hpp_session(
        self: Runs,
        order: str,
        *,
        merchant_urls: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> JsonObject:
        """A session for the open checkout order `order` (its id, or a `payment_session_url`):
        `merchant_urls` (default `example_hpp_merchant_urls()`; `{}` sends none), `options`
        (`page_title`, `logo_url`, ...) and `fields` as further top-level keys. Returns the
        creation answer: `session_id`, `redirect_url`, `qr_code_url`, `expires_at`, ..."""
        return self._run(create_session(order, merchant_urls, options, fields))

    def read_hpp_session(self: Runs, session_id: str) -> JsonObject:
        """The session: `{session_id, status, updated_at, expires_at}`, and once `COMPLETED`
        its `order_id` and `klarna_reference`."""
        return self._run(read_session(session_id))

    def disable_hpp_session(self: Runs, session_id: str) -> None:
        """Disable the session (`DELETE`): its link no longer takes a payment."""
        self._run(disable_session(session_id))

    def distribute_hpp_session(
        self: Runs, session_id: str, method: str, **contact_information: Any
    ) -> None:
        """Send the link by `method` (`"email"`, `"sms"`, `"token"`) to `contact_information`
        (`email=`; `phone=` and `phone_country=`; `access_id=`). Recorded on the order's
        timeline as `hpp.distribution`, never sent."""
        self._run(distribute_session(session_id, method, contact_information))

    def set_hpp_session_status(self: Runs, session_id: str, status: str) -> JsonObject:
        """Move the session as its shopper would (`IN_PROGRESS`, `FAILED`, `BACK`, `CANCELLED`,
        `ERROR`) or expire it (`EXPIRED`), a sandbox control. Returns the session."""
        return self._run(set_session_status(session_id, status))

    def pay_hpp_session(
        self: Runs,
        session: Mapping[str, Any] | str,
        order_id: str,
        email: str | None = None,
        **fields: Any,
    ) -> JsonObject:
        """The shopper pays by the link, without a browser: opens the page of `session` (the
        created session, or its `redirect_url`), then completes `order_id` as `complete` does
        (`email` picks the persona). The session becomes `COMPLETED` with the order. Returns
        what `complete` returns; a page that sends the shopper straight to the result (a final
        session, an order that can no longer be paid) raises `KcoApiError` with its `303`."""
        return self._run(pay_session(session, order_id, email, fields))

    def hpp_result_url(self: Runs, session: Mapping[str, Any] | str) -> str | None:
        """Where the page sends the browser now (`GET .../result`, not followed): the merchant's
        URL for the session's status with its placeholders filled, the session's own page while
        it is open, or None when the platform shows its own result page (no URL given)."""
        return self._run(result_url(session))


class AsyncHppMethods:
    """`AsyncKcoClient`'s methods of the Hosted Payment Page API: `HppMethods`, awaited."""

    async def create_hpp_session(
        self: RunsAsync,
        order: str,
        *,
        merchant_urls: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> JsonObject:
        """A session for the open checkout order `order` (see `KcoClient.create_hpp_session`)."""
        return await self._run(create_session(order, merchant_urls, options, fields))

    async def read_hpp_session(self: RunsAsync, session_id: str) -> JsonObject:
        """The session: `{session_id, status, updated_at, expires_at, order_id?, ...}`."""
        return await self._run(read_session(session_id))

    async def disable_hpp_session(self: RunsAsync, session_id: str) -> None:
        """Disable the session (`DELETE`)."""
        await self._run(disable_session(session_id))

    async def distribute_hpp_session(
        self: RunsAsync, session_id: str, method: str, **contact_information: Any
    ) -> None:
        """Send the link by `method` to `contact_information` (recorded, never sent)."""
        await self._run(distribute_session(session_id, method, contact_information))

    async def set_hpp_session_status(self: RunsAsync, session_id: str, status: str) -> JsonObject:
        """Move or expire the session (a sandbox control). Returns the session."""
        return await self._run(set_session_status(session_id, status))

    async def pay_hpp_session(
        self: RunsAsync,
        session: Mapping[str, Any] | str,
        order_id: str,
        email: str | None = None,
        **fields: Any,
    ) -> JsonObject:
        """The shopper pays by the link (see `KcoClient.pay_hpp_session`)."""
        return await self._run(pay_session(session, order_id, email, fields))

    async def hpp_result_url(self: RunsAsync, session: Mapping[str, Any] | str) -> str | None:
        """Where the page sends the browser now (see `KcoClient.hpp_result_url`)."""
        return await self._run(result_url(session))
