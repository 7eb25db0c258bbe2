"""The only place that knows HTTP statuses of errors, and the only error renderer.

Errors go out in the vendor's body, `{"error_code", "error_messages", "correlation_id"}`, except
where the vendor itself answers differently: an expired order is a 404 with an empty body, and a
missing or wrong credential is the vendor's edge page (HTML) with a `WWW-Authenticate` challenge.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Final

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match, Route

from kco_sandbox import __version__
from kco_sandbox.domain.errors import (
    BadValue,
    Conflict,
    DistributionRefused,
    HttpError,
    KcoError,
    NotAllowed,
    NotFound,
    OrderExpired,
    PayloadTooLarge,
    PurchaseFailed,
    ReadOnlyOrder,
    TokenRefused,
    Unauthorized,
)

log = logging.getLogger("kco_sandbox.web")

STATUS_BY_ERROR: Final[dict[type[KcoError], int]] = {
    BadValue: 400,
    Unauthorized: 401,
    ReadOnlyOrder: 403,
    NotAllowed: 403,  # and its CAPTURE_, CANCEL_ and REFUND_NOT_ALLOWED kinds
    TokenRefused: 403,  # TOKEN_FORBIDDEN, TOKEN_CANCELLED, PAYMENT_METHOD_FAILED, ...
    NotFound: 404,
    OrderExpired: 404,
    HttpError: 405,
    Conflict: 409,  # the vendor's CONFLICT: other writers kept winning; a retry can succeed
    PayloadTooLarge: 413,
    PurchaseFailed: 422,  # the sandbox API's own: the purchase did not go through
    DistributionRefused: 400,  # HPP distribution: MISSING_CONTACT_DATA, CONSTRAINT_VIOLATION, ...
}

REALM: Final = "very closed site"  # the realm the vendor's edge answers with
UNAUTHORIZED_PAGE: Final = (
    b"<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
    b"<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>kco-sandbox</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def correlation_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("correlation_id", ""))


SERVICE_VERSION: Final = f"kco-sandbox-{__version__}"


def error_body(code: str, messages: list[str], correlation: str) -> bytes:
    # `service_version` is optional in the vendor's body; its SDKs read it when present.
    return msgspec.json.encode(
        {
            "error_code": code,
            "error_messages": messages,
            "correlation_id": correlation,
            "service_version": SERVICE_VERSION,
        }
    )


# The protocol's own answers, sent before or instead of any app (`web/protocol.py`): a request
# whose head or body does not arrive within `--request-timeout` (408), one the parser refuses
# (400) and one whose head is too large (431). No app runs then, so they are rendered to bytes
# here, in the vendor's body, with canonical names, and close the connection. The vendor
# documents none of the three; the codes are ours.
REQUEST_TIMEOUT_CODE: Final = "REQUEST_TIMEOUT"
MALFORMED_REQUEST_CODE: Final = "BAD_REQUEST"
HEAD_TOO_LARGE_CODE: Final = "REQUEST_HEADER_FIELDS_TOO_LARGE"


def protocol_answer(status: int, code: str, message: str, correlation: str, date: str) -> bytes:
    """A whole answer that closes the connection; `date` is HTTP's."""
    body = error_body(code, [message], correlation)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        f"Klarna-Correlation-Id: {correlation}\r\n"
        f"Date: {date}\r\n"
        "X-Content-Type-Options: nosniff\r\n\r\n"
    )
    return head.encode("ascii") + body


def request_timeout_answer(correlation: str, date: str) -> bytes:
    """The whole `408 Request Timeout` answer."""
    return protocol_answer(408, REQUEST_TIMEOUT_CODE, "Request timeout", correlation, date)


def status_of(error: KcoError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def render_error(request: Request, error: KcoError) -> Response:
    status = status_of(error)
    if isinstance(error, OrderExpired):
        return Response(status_code=status)
    if isinstance(error, Unauthorized):
        return Response(
            UNAUTHORIZED_PAGE,
            status_code=status,
            media_type="text/html",
            headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
        )
    return Response(
        error_body(error.code, error.messages, correlation_id(request)),
        status_code=status,
        media_type="application/json",
    )


async def kco_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KcoError)
    return render_error(request, exc)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no route, wrong method) in the vendor's shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return render_error(request, NotFound("Not found"))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request, headers.get("Allow", "")))
    # The vendor's shape for this, as recorded: HTTP_ERROR with one empty message.
    return Response(
        error_body(HttpError.code, [""], correlation_id(request)),
        status_code=exc.status_code,
        headers=headers,
        media_type="application/json",
    )


_METHOD_ORDER: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request, allow: str) -> list[str]:
    """Every method the request's path takes, for a 405's `Allow`.

    Starlette's `Allow` names the methods of the first route whose path matched; a path served by
    several routes (a GET and a POST handler) takes the methods of all of them.
    """
    methods = {m.strip() for m in allow.split(",") if m.strip()}
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                methods |= route.methods
    return sorted(methods, key=lambda m: (*_METHOD_ORDER, m).index(m))


# What the access line and the metrics show for a request whose client left before its body was
# all in (nginx's "client closed request"); the answer itself reaches no one.
CLIENT_GONE: Final = 499


def internal_error(correlation: str, exc: BaseException) -> Response:
    """A bug, logged with its traceback and answered in the vendor's shape.

    A client that left mid-body (or was cut off by `--request-timeout`) is no bug, and there is
    no one to answer: not logged, since any client could write a line per connection that way.
    """
    if isinstance(exc, ClientDisconnect):
        return Response(status_code=CLIENT_GONE)
    log.error("unhandled error (correlation id %s)", correlation, exc_info=exc)
    return Response(
        error_body("INTERNAL_SERVER_ERROR", ["Internal server error"], correlation),
        status_code=500,
        media_type="application/json",
    )


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    """Last resort for a bug outside `WireMiddleware` (which answers the others itself)."""
    return internal_error(correlation_id(request), exc)
