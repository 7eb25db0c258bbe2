"""Wire conventions every response follows, applied once as ASGI middleware.

- Header names go out in canonical spelling (`Content-Type`, `Location`, `Klarna-Correlation-Id`,
  `WWW-Authenticate`, ...). Starlette writes lower-case names; strict clients (the vendor's PHP,
  Java and Magento code) look names up case-sensitively, so names are re-spelled here. This needs
  a server that writes names as the app sends them: uvicorn with its h11 protocol does.
- Every response carries `Klarna-Correlation-Id`; the same id is in error bodies and logs.
- `Date` is added here (the server's own, lower-case one is switched off).
- Every response carries `X-Content-Type-Options: nosniff`, and an HTML one that names no
  `Content-Security-Policy` of its own gets `DEFAULT_CSP`: same-origin content only, framed by
  same-origin pages only. The hosted checkout page and the demo shop send policies of their own
  (docs/operations.md, "Headers").
- Calls on an order are handed to `record_call`, for the order's timeline (see
  `services/sandbox.py`), with their duration, user agent and the first `BODY_KEPT` bytes of the
  request and answer bodies (kept by reference while the request runs, copied only when
  recorded), only when a handler marked the request with `mark_recordable` after
  authenticating its merchant: an unauthenticated call records nothing, and the store writes a
  marked call only if the order is that merchant's (`store/events.py`), so calls on made-up ids
  or on another merchant's order never reach an order's timeline.
- Every answered request is handed to `observe` with its status and duration, for the access log
  and the metrics (`web/api/operations.py`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kco_sandbox.ids import IdFactory
from kco_sandbox.services.sandbox import ApiCall
from kco_sandbox.web.errors import internal_error

CORRELATION_HEADER: Final = "Klarna-Correlation-Id"
CSP_HEADER: Final = b"Content-Security-Policy"
NOSNIFF_HEADER: Final = b"X-Content-Type-Options"
DEFAULT_CSP: Final = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)
# Names whose canonical spelling is not plain Title-Case.
_SPECIAL: Final[dict[bytes, bytes]] = {
    b"www-authenticate": b"WWW-Authenticate",
    b"etag": b"ETag",
}
_spellings: dict[bytes, bytes] = {}
_ORDER_PATH: Final = re.compile(
    r"^/(?:checkout/v3|ordermanagement/v1|_sandbox)/orders/(?P<id>[0-9a-fA-F-]{36})(?:/|$)"
)
_LOCATION: Final = re.compile(rb"/orders/(?P<id>[0-9a-fA-F-]{36})$")
CallRecorder = Callable[[ApiCall], None]
# How much of a call's request and answer bodies its timeline keeps (as the checkout callbacks').
BODY_KEPT: Final = 2000
# The scope state key under which a handler names the merchant whose call this is.
_RECORDABLE: Final = "kco_recordable_for"
# (scope after routing, status, seconds from arrival until the answer was sent, correlation_id)
Observer = Callable[[Scope, int, float, str], None]


def order_of(path: str, location: bytes | None) -> str | None:
    """The order a call is about: from its path, or a create's `Location`."""
    found = _ORDER_PATH.match(path)
    if found:
        return found.group("id")
    if location:
        created = _LOCATION.search(location)
        if created:
            return created.group("id").decode()
    return None


def mark_recordable(scope: Scope, merchant_id: str | None) -> None:
    """The request was made by `merchant_id`, authenticated: its call on an order may be
    recorded on that order's timeline (if the order is the merchant's). None: not recorded."""
    state = scope.setdefault("state", {})
    if merchant_id is None:
        state.pop(_RECORDABLE, None)
    else:
        state[_RECORDABLE] = merchant_id


def canonical(name: bytes) -> bytes:
    """`content-type` → `Content-Type`, `www-authenticate` → `WWW-Authenticate`."""
    spelled = _spellings.get(name)
    if spelled is None:
        lower = name.lower()
        spelled = _SPECIAL.get(lower) or b"-".join(p.capitalize() for p in lower.split(b"-"))
        if len(_spellings) < 1024:
            _spellings[name] = spelled
    return spelled


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    kind = next((v for k, v in headers if k == b"Content-Type"), b"")
    return kind.split(b";", 1)[0].strip().lower() == b"text/html"


class _HttpDate:
    """The current `Date` value, formatted at most once a second."""

    def __init__(self) -> None:
        self._second = 0
        self._value = b""

    def value(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode()
        return self._value


class WireMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        new_id: IdFactory,
        record_call: CallRecorder | None = None,
        observe: Observer | None = None,
    ) -> None:
        self.app = app
        self.new_id = new_id
        self.date = _HttpDate()
        self.record_call = record_call
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        correlation_id = self.new_id()
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        answer: dict[str, Any] = {}
        sent: list[bytes] = []  # the first bytes of the request and answer bodies
        answered: list[bytes] = []

        async def receive_kept() -> Message:
            message = await receive()
            if message["type"] == "http.request" and sum(map(len, sent)) < BODY_KEPT:
                sent.append(message.get("body", b""))
            return message

        async def send_canonical(message: Message) -> None:
            if message["type"] == "http.response.body":
                if sum(map(len, answered)) < BODY_KEPT:
                    answered.append(message.get("body", b""))
            elif message["type"] == "http.response.start":
                headers = [(canonical(k), v) for k, v in message.get("headers", ())]
                answer["status"] = message["status"]
                answer["location"] = next((v for k, v in headers if k == b"Location"), None)
                names = {k for k, _ in headers}
                if CORRELATION_HEADER.encode() not in names:
                    headers.append((CORRELATION_HEADER.encode(), correlation_id.encode()))
                headers.append((b"Date", self.date.value()))
                if NOSNIFF_HEADER not in names:
                    headers.append((NOSNIFF_HEADER, b"nosniff"))
                if CSP_HEADER not in names and _is_html(headers):
                    headers.append((CSP_HEADER, DEFAULT_CSP.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive_kept if self.record_call else receive, send_canonical)
        except Exception as exc:
            if "status" in answer:
                raise  # the answer is under way: only the server can end it now
            # Answered here rather than by Starlette's outermost error middleware, whose answer
            # would bypass this one: lower-case names, no correlation id, a closed connection.
            await internal_error(correlation_id, exc)(scope, receive, send_canonical)
        finally:
            if self.observe is not None and "status" in answer:
                elapsed = time.perf_counter() - started
                self.observe(scope, answer["status"], elapsed, correlation_id)
        if self.record_call is not None and "status" in answer:
            merchant_id = scope["state"].get(_RECORDABLE)
            order_id = order_of(scope["path"], answer["location"]) if merchant_id else None
            if merchant_id and order_id is not None:
                self.record_call(
                    ApiCall(
                        order_id=order_id,
                        merchant_id=merchant_id,
                        method=scope["method"],
                        path=scope["path"],
                        status=answer["status"],
                        correlation_id=correlation_id,
                        duration_ms=round((time.perf_counter() - started) * 1000, 1),
                        user_agent=_header(scope, b"user-agent"),
                        request=_kept(sent),
                        response=_kept(answered),
                    )
                )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")[:BODY_KEPT]
    return None


def _kept(chunks: list[bytes]) -> str | None:
    """The first `BODY_KEPT` bytes of a body as text (None: there was none)."""
    body = b"".join(chunks)[:BODY_KEPT]
    return body.decode("utf-8", "replace") if body else None
