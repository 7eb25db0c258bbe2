"""HTTP Basic authentication in both forms the vendor accepts.

- `Basic base64(<user>:<api key>)`: the classic form; the user name must be the merchant's.
- `Basic <api key>`: the key sent as it is, not base64-encoded.

Secrets are compared with `hmac.compare_digest` (as bytes, so a non-ASCII credential is just a
wrong one) and never logged. Lookups go through a digest of the presented key, so the time a
lookup takes says nothing about how much of a key was right. A credential that is not base64, not
ASCII or not UTF-8 is a wrong credential (401), never an error of ours.

An `Authorization` value that signed in is remembered (at most `REMEMBERED` of them), so that a
client's next request with it costs one dictionary lookup instead of a base64 decoding, two
digests and two comparisons. The merchants of an `Authenticator` never change, so neither does
what a remembered value signs in as; values that failed are not remembered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Final

from kco_sandbox.domain.errors import Unauthorized
from kco_sandbox.domain.merchant import Merchant

REMEMBERED: Final = 1024


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _same(presented: str, expected: str) -> bool:
    """A constant-time comparison that any presented text can go through: `compare_digest`
    refuses `str`s with non-ASCII characters, so both sides are compared as UTF-8 bytes."""
    return hmac.compare_digest(presented.encode(), expected.encode())


class Authenticator:
    def __init__(self, merchants: Iterable[Merchant]) -> None:
        self._by_key = {_digest(m.api_key): m for m in merchants}
        self._by_id = {m.merchant_id: m for m in self._by_key.values()}
        self._accepted: dict[str, Merchant] = {}

    def by_id(self, merchant_id: str) -> Merchant | None:
        """The merchant that may sign in as `merchant_id`, if any (a portal session names it)."""
        return self._by_id.get(merchant_id)

    def sign_in(self, username: str, password: str) -> Merchant:
        """The merchant of a user name and password typed into a form, or `Unauthorized`."""
        merchant = self._by_id.get(username)
        if merchant is None or not _same(password, merchant.api_key):
            raise Unauthorized("Wrong credentials")
        return merchant

    def merchant_for(self, authorization: str | None) -> Merchant:
        """The merchant an `Authorization` header value signs in as, or `Unauthorized`."""
        if authorization is not None and (known := self._accepted.get(authorization)):
            return known
        merchant = self._check(authorization)
        if authorization is not None:
            if len(self._accepted) >= REMEMBERED:
                self._accepted.clear()
            self._accepted[authorization] = merchant
        return merchant

    def _check(self, authorization: str | None) -> Merchant:
        parts = (authorization or "").split(maxsplit=1)
        if len(parts) != 2 or parts[0].lower() != "basic":
            raise Unauthorized("Missing or malformed credentials")
        credential = parts[1].strip()
        if not credential:
            raise Unauthorized("Missing or malformed credentials")
        user, key = self._split(credential)
        merchant = self._by_key.get(_digest(key))
        if merchant is None or not _same(key, merchant.api_key):
            raise Unauthorized("Wrong credentials")
        if user is not None and not _same(user, merchant.merchant_id):
            raise Unauthorized("Wrong credentials")
        return merchant

    def _split(self, credential: str) -> tuple[str | None, str]:
        """(user, key) from a base64 `user:key`, or (None, credential) for a bare key."""
        if _digest(credential) in self._by_key:
            return None, credential
        try:
            decoded = base64.b64decode(credential, validate=True).decode()
        except ValueError:  # not base64 (`binascii.Error`), not ASCII, or not UTF-8 once decoded
            return None, credential
        user, sep, key = decoded.partition(":")
        if not sep:
            return None, decoded
        return user, key
