"""Who is signed in to the portal, and the form token every portal form carries.

The session is a cookie signed with a key kept in the database (`itsdangerous`): it names the
merchant and holds a random form token (CSRF). It is `HttpOnly`, `SameSite=Lax`, scoped to
`/portal`, and `Secure` when the page was asked for over https; it expires after `MAX_AGE`.
Nothing secret is in it: the merchant's password never leaves the sign-in form.

Sign-in attempts are throttled per client address and user name (`SignInThrottle`): after
`FAILURES` wrong passwords within `WINDOW` seconds, further attempts are refused until the window
has passed, so a password cannot be guessed at the server's speed.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.web.auth import Authenticator

COOKIE: Final = "kco_portal"
PATH: Final = "/portal"
MAX_AGE: Final = 12 * 3600  # seconds a sign-in lasts
FORM_FIELD: Final = "csrf_token"
FAILURES: Final = 5
WINDOW: Final = 60.0
_MAX_TRACKED: Final = 10_000  # clients the throttle remembers (oldest forgotten first)


@dataclass(frozen=True, slots=True)
class PortalSession:
    merchant: Merchant
    csrf: str  # the form token of this sign-in


class Sessions:
    """Signs and reads session cookies with `key` (derived from the server's stored secret)."""

    def __init__(self, key: bytes, auth: Authenticator) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="kco-sandbox portal session")
        self._auth = auth

    def current(self, request: Request) -> PortalSession | None:
        """The signed-in session of `request`, or None (no cookie, a forged or expired one, or a
        merchant that can no longer sign in)."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        merchant = self._auth.by_id(str(data.get("m", "")))
        csrf = data.get("t")
        if merchant is None or not isinstance(csrf, str):
            return None
        return PortalSession(merchant, csrf)

    def sign_in(self, request: Request, response: Response, merchant: Merchant) -> None:
        value = self._serializer.dumps({"m": merchant.merchant_id, "t": secrets.token_urlsafe(24)})
        response.set_cookie(
            COOKIE,
            value,
            max_age=MAX_AGE,
            path=PATH,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    @staticmethod
    def sign_out(response: Response) -> None:
        response.delete_cookie(COOKIE, path=PATH)


def csrf_ok(session: PortalSession, presented: object) -> bool:
    """Is `presented` (a form field) the session's form token? Constant time."""
    if not isinstance(presented, str):
        return False
    return hmac.compare_digest(session.csrf.encode(), presented.encode("utf-8", "replace"))


class SignInThrottle:
    """Wrong passwords per (client address, user name) in a sliding window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, client: str, username: str) -> float:
        """Seconds until this client may try this user name again (0: now)."""
        with self._lock:
            recent = self._recent((client, username))
            if len(recent) < FAILURES:
                return 0.0
            return max(recent[0] + WINDOW - self._clock(), 0.0)

    def failed(self, client: str, username: str) -> None:
        with self._lock:
            key = (client, username)
            self._recent(key).append(self._clock())
            if len(self._failures) > _MAX_TRACKED:
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, client: str, username: str) -> None:
        with self._lock:
            self._failures.pop((client, username), None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        found = self._failures.setdefault(key, deque(maxlen=FAILURES))
        while found and found[0] + WINDOW <= self._clock():
            found.popleft()
        return found
