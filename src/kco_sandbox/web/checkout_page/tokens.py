"""The hosted checkout page's form tokens (CSRF): every form carries one, every post must.

A token is an HMAC of the order id under a key of the running server (`AppContext.form_key`),
bound to the checkout rather than to a cookie: the page runs in an iframe on the merchant's
origin, where third-party cookies may be blocked. A page of another origin cannot read the
checkout page, so it cannot learn the token, and a post it makes a shopper's browser send is
refused without changing anything. A new key each start means a page left open across a restart
is refused once, then shown again with a fresh token.

The markup functions put `SLOT` in each form; `fill` replaces it with the token's hidden input
when the screen is rendered. Escaped text can never contain `SLOT` (it holds `<`), so nothing a
shopper or merchant sends can place a token anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

FIELD: Final = "form_token"
SLOT: Final = "<!--kco-form-token-->"
_PURPOSE: Final = b"kco-sandbox checkout form\x00"


def new_form_key() -> bytes:
    """A fresh key for a server's form tokens."""
    return secrets.token_bytes(32)


def token_for(key: bytes, order_id: str) -> str:
    digest = hmac.new(key, _PURPOSE + order_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def genuine(key: bytes, order_id: str, presented: str) -> bool:
    """Is `presented` the token of `order_id`? (Compared in constant time.)"""
    expected = token_for(key, order_id).encode("ascii")
    return hmac.compare_digest(expected, presented.encode("utf-8", "replace"))


def fill(markup: str, token: str) -> str:
    """`markup` with each form's `SLOT` replaced by the hidden input holding `token`."""
    return markup.replace(SLOT, f'<input type="hidden" name="{FIELD}" value="{token}">')
