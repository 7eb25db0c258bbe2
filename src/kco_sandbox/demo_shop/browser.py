"""What the demo shop knows of one browser: two signed cookies, as a shop's session would hold.

- The session cookie holds a random id the shop gives a browser on its first page. Each form the
  shop renders carries a token, an HMAC of that id, and a post without the right one is refused
  (CSRF): another site can neither read the shop's page to learn the token nor, the cookie being
  `SameSite=Lax`, make the browser send the cookie with its post.
- The orders cookie lists the orders this browser's cart created (the last `MAX_ORDERS`), so
  `/orders/{id}`, which shows an order with its addresses, shows it only to that browser.

Both are signed with the shop's key, so a browser cannot add another's order or session to them.
They are `HttpOnly`, scoped to the path the shop is mounted at, and `Secure` when the shop is
reached over https.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE: Final = "demo_shop_session"
ORDERS_COOKIE: Final = "demo_shop_orders"
TOKEN_FIELD: Final = "form_token"
MAX_ORDERS: Final = 20
MAX_AGE: Final = 7 * 24 * 3600  # seconds; a checkout order lives 48 hours


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Signer:
    """HMAC-SHA256 under the shop's key, a purpose mixed in so no value serves two uses."""

    key: bytes

    def mac(self, purpose: str, value: str) -> str:
        message = purpose.encode() + b"\x00" + value.encode("utf-8", "replace")
        return _b64(hmac.new(self.key, message, hashlib.sha256).digest())

    def sign(self, purpose: str, value: str) -> str:
        """`value.mac`, for a cookie (`value` is URL-safe base64 or a plain id)."""
        return f"{value}.{self.mac(purpose, value)}"

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        """The value of a cookie `sign` made, or None when it was not made so."""
        value, dot, mac = (signed or "").rpartition(".")
        if not dot or not hmac.compare_digest(mac.encode(), self.mac(purpose, value).encode()):
            return None
        return value


@dataclass(frozen=True, slots=True)
class Browser:
    """What the request's cookies say: its session id (None: none yet) and its orders."""

    session: str | None
    orders: tuple[str, ...]


def read_browser(request: Request, signer: Signer) -> Browser:
    session = signer.unsign(SESSION_COOKIE, request.cookies.get(SESSION_COOKIE))
    listed = signer.unsign(ORDERS_COOKIE, request.cookies.get(ORDERS_COOKIE))
    raw = _unb64(listed) if listed else None
    orders = tuple(raw.decode("utf-8", "replace").split("\n")) if raw else ()
    return Browser(session or None, orders)


def form_token(signer: Signer, session: str) -> str:
    """The token the shop's forms carry for a session."""
    return signer.mac(TOKEN_FIELD, session)


def genuine(signer: Signer, session: str | None, presented: str) -> bool:
    """Does a post carry the token of the session its cookie names? (Constant time.)"""
    if not session:
        return False
    return hmac.compare_digest(form_token(signer, session).encode(), presented.encode())


def _cookie(response: Response, request: Request, path: str, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=MAX_AGE,
        path=path or "/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def keep_session(
    response: Response, request: Request, path: str, signer: Signer, session: str
) -> None:
    """Give the browser its session cookie (again: its lifetime starts anew)."""
    _cookie(response, request, path, SESSION_COOKIE, signer.sign(SESSION_COOKIE, session))


def remember_order(
    response: Response, request: Request, path: str, signer: Signer, browser: Browser, order: str
) -> None:
    """Add `order` to the orders this browser created, forgetting the oldest past `MAX_ORDERS`."""
    kept = [o for o in browser.orders if o != order][-(MAX_ORDERS - 1) :]
    orders = [*kept, order]
    listed = _b64("\n".join(orders).encode("utf-8"))
    _cookie(response, request, path, ORDERS_COOKIE, signer.sign(ORDERS_COOKIE, listed))
