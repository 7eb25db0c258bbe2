"""Hosted Payment Page sessions: the request, the session, its status machine and what it shows.

A session wraps one Checkout order (`payment_session_url` names it) in a page the platform hosts
(`redirect_url`), so a merchant needs no page of its own to embed the checkout. Its statuses and
the moves between them are a table (`MOVES`): the shopper opens the page (IN_PROGRESS), then
completes the purchase (COMPLETED), is declined (FAILED), presses back (BACK), cancels
(CANCELLED) or meets an error (ERROR); after FAILED, BACK and ERROR opening the page again is a
retry. The merchant disables a session that is not final (DISABLED). COMPLETED, CANCELLED and
DISABLED are final.

Every status change but the first (WAITING, at creation) and DISABLED (the merchant's own act)
is told to the merchant's `status_update` URL as `{"event_id", "session"}` through the callback
outbox (`status_callback`); neither of those two is in the vendor's sequence of notifications.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta

from kco_sandbox.domain.checkout.order import Doc
from kco_sandbox.domain.delivery import Callback, CallbackKind
from kco_sandbox.domain.errors import BadValue

# A session expires this long before the Checkout order it wraps.
EXPIRES_BEFORE_ORDER: Final = timedelta(hours=1)
SESSIONS_PATH: Final = "/hpp/v1/sessions"
PAYMENTS_PATH: Final = "/hpp/payments"

Url = Annotated[str, Meta(max_length=2048)]
Text = Annotated[str, Meta(max_length=255)]


class HppStatus(StrEnum):
    WAITING = "WAITING"  # created; the shopper has not opened the page
    IN_PROGRESS = "IN_PROGRESS"  # the shopper opened the page
    COMPLETED = "COMPLETED"  # the purchase went through (final)
    FAILED = "FAILED"  # the purchase was declined; may retry
    CANCELLED = "CANCELLED"  # the shopper cancelled (final)
    BACK = "BACK"  # the shopper went back to the store; may retry
    ERROR = "ERROR"  # an error while paying; may retry
    DISABLED = "DISABLED"  # the merchant disabled the session (final)
    MANUAL_ID_CHECK = "MANUAL_ID_CHECK"  # in-store identity check: in the enum, never reached


FINAL: Final = frozenset({HppStatus.COMPLETED, HppStatus.CANCELLED, HppStatus.DISABLED})
OPEN: Final = frozenset(HppStatus) - FINAL
RETRYABLE: Final = frozenset(
    {HppStatus.WAITING, HppStatus.IN_PROGRESS, HppStatus.FAILED, HppStatus.BACK, HppStatus.ERROR}
)


class HppAction(StrEnum):
    OPEN = "open"  # the shopper opens the page (again)
    COMPLETE = "complete"  # the Checkout order completed, by whatever path
    DECLINE = "decline"
    BACK = "back"
    CANCEL = "cancel"
    ERROR = "error"
    DISABLE = "disable"  # the merchant's DELETE


# Each action: the statuses it may start from, and where it leads.
MOVES: Final[dict[HppAction, tuple[frozenset[HppStatus], HppStatus]]] = {
    HppAction.OPEN: (RETRYABLE, HppStatus.IN_PROGRESS),
    HppAction.COMPLETE: (OPEN, HppStatus.COMPLETED),
    HppAction.DECLINE: (frozenset({HppStatus.IN_PROGRESS}), HppStatus.FAILED),
    HppAction.BACK: (frozenset({HppStatus.IN_PROGRESS}), HppStatus.BACK),
    HppAction.CANCEL: (frozenset({HppStatus.IN_PROGRESS}), HppStatus.CANCELLED),
    HppAction.ERROR: (RETRYABLE, HppStatus.ERROR),
    HppAction.DISABLE: (OPEN, HppStatus.DISABLED),
}
# The statuses the merchant is told about (`status_update`).
NOTIFIED: Final = frozenset(HppStatus) - {HppStatus.WAITING, HppStatus.DISABLED}


def move(status: HppStatus, action: HppAction) -> HppStatus | None:
    """Where `action` takes a session in `status`, or None if it may not be taken there."""
    sources, target = MOVES[action]
    return target if status in sources else None


# --- The create request ---


class HppMerchantUrls(Doc):
    success: Url | None = None
    cancel: Url | None = None
    back: Url | None = None
    failure: Url | None = None
    error: Url | None = None
    status_update: Url | None = None
    privacy_policy: Url | None = None  # older SDKs send these two; accepted and not used
    terms: Url | None = None


class BackgroundImage(Doc):
    url: Url
    width: int | None = None


PurchaseType = Literal["BUY", "RENT", "BOOK", "SUBSCRIBE", "DOWNLOAD", "ORDER", "CONTINUE"]
MethodCategory = Literal[
    "DIRECT_DEBIT", "DIRECT_BANK_TRANSFER", "PAY_NOW", "PAY_LATER", "PAY_OVER_TIME", "KLARNA"
]


class HppOptions(Doc):
    logo_url: Url | None = None
    page_title: Text | None = None
    background_images: Annotated[list[BackgroundImage], Meta(max_length=20)] | None = None
    purchase_type: PurchaseType | None = None
    show_subtotal_detail: Literal["HIDE"] | None = None
    # Klarna Payments settings: accepted and without effect on a Checkout order.
    place_order_mode: Literal["PLACE_ORDER", "CAPTURE_ORDER", "NONE"] | None = None
    payment_method_categories: Annotated[list[MethodCategory], Meta(max_length=10)] | None = None
    payment_method_category: MethodCategory | None = None
    payment_fallback: bool | None = None


class SessionRequest(Doc):
    payment_session_url: Url
    merchant_urls: HppMerchantUrls | None = None
    options: HppOptions | None = None
    profile_id: Text | None = None


URL_FIELDS: Final = ("success", "cancel", "back", "failure", "error", "status_update")
_ORDER_PATH = re.compile(r"(?:^|/)checkout/v3/orders/(?P<id>[^/?#]+)/?(?:[?#].*)?$")
_SCHEME = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)


def order_id_of(payment_session_url: str) -> str:
    """The Checkout order a `payment_session_url` names: `…/checkout/v3/orders/{id}` on any
    host (merchants build it from their own configured base URL), or just that path."""
    found = _ORDER_PATH.search(payment_session_url.strip())
    if found is None or not found.group("id").isprintable():
        raise BadValue("payment_session_url")
    return found.group("id")


def check_urls(urls: HppMerchantUrls | None, https_status_update: bool) -> None:
    """Each merchant URL given must be an absolute http(s) URL; `status_update` https when the
    platform enforces the vendor's rule (`--https-callbacks-only`)."""
    if urls is None:
        return
    for name in URL_FIELDS:
        value = getattr(urls, name)
        if value is not None and _SCHEME.match(value) is None:
            raise BadValue(f"merchant_urls.{name}")
    status_update = urls.status_update
    if https_status_update and status_update and not status_update.lower().startswith("https://"):
        raise BadValue("merchant_urls.status_update", "https is required")


def short_id_of(session_id: str) -> str:
    """The short id of the shopper's link, derived from the session id (10 base-62 digits)."""
    digest = int.from_bytes(hashlib.sha256(f"hpp:{session_id}".encode()).digest()[:8], "big")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digits = []
    for _ in range(10):
        digest, rest = divmod(digest, 62)
        digits.append(alphabet[rest])
    return "".join(digits)


# --- The session ---


@dataclass(frozen=True, slots=True)
class HppSession:
    session_id: str
    short_id: str
    merchant_id: str
    order_id: str  # the Checkout order it wraps
    status: HppStatus
    merchant_urls: HppMerchantUrls
    options: HppOptions
    created_at: datetime
    updated_at: datetime  # the last status change
    expires_at: datetime
    klarna_reference: str | None = None  # once COMPLETED
    version: int = 1

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def moved(self, action: HppAction, now: datetime) -> HppSession | None:
        """The session after `action`, or None when the action may not be taken now."""
        target = move(self.status, action)
        if target is None:
            return None
        if target is self.status:
            return self  # the same status again: nothing changed
        return replace(self, status=target, updated_at=now, version=self.version + 1)

    def completed(self, klarna_reference: str, now: datetime) -> HppSession | None:
        """The session once its Checkout order completed; None if it is already final."""
        after = self.moved(HppAction.COMPLETE, now)
        if after is None or after is self:
            return None
        return replace(after, klarna_reference=klarna_reference)


def new_session(
    session_id: str,
    merchant_id: str,
    order_id: str,
    order_expires_at: datetime,
    request: SessionRequest,
    now: datetime,
) -> HppSession:
    return HppSession(
        session_id=session_id,
        short_id=short_id_of(session_id),
        merchant_id=merchant_id,
        order_id=order_id,
        status=HppStatus.WAITING,
        merchant_urls=request.merchant_urls or HppMerchantUrls(),
        options=request.options or HppOptions(),
        created_at=now,
        updated_at=now,
        expires_at=order_expires_at - EXPIRES_BEFORE_ORDER,
    )


def timestamp(value: datetime) -> str:
    """The vendor's HPP time: UTC with milliseconds, `2019-05-13T14:51:46.288Z`."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def view(session: HppSession) -> dict[str, Any]:
    """`SessionResponseV1`: what a read answers and a status callback carries."""
    body: dict[str, Any] = {
        "session_id": session.session_id,
        "status": session.status.value,
        "updated_at": timestamp(session.updated_at),
        "expires_at": timestamp(session.expires_at),
    }
    if session.status is HppStatus.COMPLETED:
        body["order_id"] = session.order_id
        if session.klarna_reference is not None:
            body["klarna_reference"] = session.klarna_reference
    return body


@dataclass(frozen=True, slots=True)
class SessionUrls:
    """The absolute URLs a created session answers with, on one base URL."""

    base_url: str
    session: HppSession

    @property
    def session_url(self) -> str:
        return f"{self.base_url}{SESSIONS_PATH}/{self.session.session_id}"

    @property
    def redirect_url(self) -> str:
        return f"{self.base_url}{PAYMENTS_PATH}/{self.session.short_id}"

    @property
    def qr_code_url(self) -> str:
        return f"{self.redirect_url}/qr"

    def created(self) -> dict[str, Any]:
        """`SessionCreationResponseV1`: all eight fields."""
        return {
            "session_id": self.session.session_id,
            "session_url": self.session_url,
            "redirect_url": self.redirect_url,
            "qr_code_url": self.qr_code_url,
            "distribution_url": f"{self.session_url}/distribution",
            # Undocumented by the vendor: the link's token, the link and its QR image.
            "distribution_module": {
                "token": self.session.short_id,
                "standalone_url": self.redirect_url,
                "generation_url": self.qr_code_url,
            },
            "manual_identification_check_url": f"{self.session_url}/manual-id-check",
            "expires_at": timestamp(self.session.expires_at),
        }


# --- Where the shopper goes after an outcome ---

_OUTCOME_URLS: Final = {
    HppStatus.COMPLETED: ("success",),
    HppStatus.CANCELLED: ("cancel",),
    HppStatus.BACK: ("back",),
    HppStatus.FAILED: ("failure",),
    HppStatus.ERROR: ("error", "failure"),  # no error URL: the failure URL
}


def fill(url: str, session: HppSession, encoded: bool = False) -> str:
    """`url` with `{{session_id}}` and `{{order_id}}` filled; with `encoded`, their URL-encoded
    forms (`%7B%7Bsession_id%7D%7D`) too."""
    values = {"session_id": session.session_id, "order_id": session.order_id}
    for name, value in values.items():
        url = url.replace("{{" + name + "}}", value)
        if encoded:
            url = re.sub(re.escape(f"%7B%7B{name}%7D%7D"), value, url, flags=re.IGNORECASE)
    return url


def outcome_url(session: HppSession, encoded: bool = False) -> str | None:
    """The merchant URL the shopper is sent to for the session's status, filled; None when the
    merchant gave none (the platform's own result page then)."""
    for name in _OUTCOME_URLS.get(session.status, ()):
        url = getattr(session.merchant_urls, name)
        if url:
            return fill(url, session, encoded)
    return None


# --- The status callback ---

_encode = msgspec.json.Encoder().encode


def status_callback(session: HppSession, event_id: str, callback_id: str) -> Callback | None:
    """The `status_update` call telling the merchant of the session's status now; None if the
    merchant gave no URL or this status is not told."""
    url = session.merchant_urls.status_update
    if not url or session.status not in NOTIFIED:
        return None
    body = _encode({"event_id": event_id, "session": view(session)})
    return Callback(
        callback_id=callback_id,
        order_id=session.order_id,
        merchant_id=session.merchant_id,
        kind=CallbackKind.HPP_STATUS,
        url=fill(url, session),
        body=body,
        starts_at=session.updated_at,
        next_attempt_at=session.updated_at,  # the first call at once (`Delivery.hpp_status`)
        target=session.session_id,
    )
