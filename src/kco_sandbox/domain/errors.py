"""The errors the platform answers with, one class per vendor `error_code`.

    KcoError
    ├── BadValue            BAD_VALUE          a field or a rule between fields is violated
    ├── ReadOnlyOrder       READ_ONLY_ORDER    the order can no longer be changed
    ├── NotFound            NOT_FOUND          no such order (for this merchant), no such refund
    │   ├── NoSuchOrder       NO_SUCH_ORDER      no such order in Order Management
    │   ├── NoSuchCapture     NO_SUCH_CAPTURE    no such capture on the order
    │   └── TokenNotFound     TOKEN_NOT_FOUND    no such customer token (charging it)
    ├── OrderExpired        NOT_FOUND          the order passed its lifetime (answered with no body)
    ├── PayloadTooLarge     PAYLOAD_TOO_LARGE  the request body is over the configured limit
    ├── HttpError           HTTP_ERROR         an unknown path or a method the path does not take
    ├── Unauthorized        UNAUTHORIZED       missing or wrong credentials
    ├── Conflict            CONFLICT           the order kept changing under a write; try again
    ├── NotAllowed          NOT_ALLOWED        the order's state does not allow the change
    │   ├── CaptureNotAllowed CAPTURE_NOT_ALLOWED
    │   ├── CancelNotAllowed  CANCEL_NOT_ALLOWED
    │   └── RefundNotAllowed  REFUND_NOT_ALLOWED
    ├── TokenRefused        FORBIDDEN          a customer token cannot be used for this call
    │   ├── TokenForbidden    TOKEN_FORBIDDEN    another merchant's token
    │   ├── TokenCancelled    TOKEN_CANCELLED    the merchant cancelled the token
    │   ├── TokenSuspended    TOKEN_SUSPENDED    the platform suspended the token
    │   ├── PaymentMethodFailed            PAYMENT_METHOD_FAILED   the charge was declined
    │   └── PaymentMethodCurrencyMismatch  PAYMENT_METHOD_CURRENCY_MISMATCH
    ├── PurchaseFailed      PURCHASE_FAILED    the shopper's purchase did not go through
    │   ├── PurchaseDenied    PURCHASE_DENIED    the persona is denied
    │   ├── SignupRequired    SIGNUP_REQUIRED    the persona must pass the sign-up step first
    │   ├── CallbackRefused   CALLBACK_REFUSED   the merchant answered 400 {error_type, error_text}
    │   ├── CallbackRedirect  CALLBACK_REDIRECT  the merchant redirected the shopper
    │   └── CallbackFailed    CALLBACK_FAILED    no usable answer from the merchant
    └── DistributionRefused UNKNOWN            an HPP session cannot be distributed so
        ├── MissingContactData  MISSING_CONTACT_DATA  the method's contact data is missing
        ├── ConstraintViolation CONSTRAINT_VIOLATION  the request is invalid
        └── UnsupportedCountry  UNSUPPORTED_COUNTRY   the phone's country is not served

HTTP status codes are not known here: `web/errors.py` maps classes to statuses.
"""

from __future__ import annotations

from typing import ClassVar


class KcoError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)


class BadValue(KcoError):
    code = "BAD_VALUE"

    def __init__(self, path: str, note: str = "") -> None:
        suffix = f" ({note})" if note else ""
        super().__init__(f"Bad value: {path}{suffix}")
        self.path = path
        self.note = note


class ReadOnlyOrder(KcoError):
    code = "READ_ONLY_ORDER"

    def __init__(self, message: str = "Resource is read-only") -> None:
        super().__init__(message)


class NotFound(KcoError):
    code = "NOT_FOUND"


class OrderExpired(NotFound):
    """The vendor deletes orders at the end of their life; reading one answers an empty 404."""


class PayloadTooLarge(KcoError):
    code = "PAYLOAD_TOO_LARGE"


class HttpError(KcoError):
    code = "HTTP_ERROR"


class Unauthorized(KcoError):
    code = "UNAUTHORIZED"


class PurchaseFailed(KcoError):
    """The shopper's purchase did not go through; the order stays `checkout_incomplete`."""

    code = "PURCHASE_FAILED"


class PurchaseDenied(PurchaseFailed):
    code = "PURCHASE_DENIED"


class SignupRequired(PurchaseFailed):
    code = "SIGNUP_REQUIRED"


class CallbackRefused(PurchaseFailed):
    """The merchant answered `400 {error_type, error_text}`."""

    code = "CALLBACK_REFUSED"

    def __init__(self, error_type: str, error_text: str) -> None:
        super().__init__(error_text or error_type)
        self.error_type = error_type
        self.error_text = error_text


class CallbackRedirect(PurchaseFailed):
    """The merchant answered with a redirect: the shopper's browser is sent to `location`."""

    code = "CALLBACK_REDIRECT"

    def __init__(self, location: str) -> None:
        super().__init__(f"The merchant redirected the shopper to {location}")
        self.location = location


class CallbackFailed(PurchaseFailed):
    """No usable answer: a time-out, no connection, an unexpected status or an invalid cart."""

    code = "CALLBACK_FAILED"


class Conflict(KcoError):
    code = "CONFLICT"


class NotAllowed(KcoError):
    code = "NOT_ALLOWED"


class CaptureNotAllowed(NotAllowed):
    code = "CAPTURE_NOT_ALLOWED"


class CancelNotAllowed(NotAllowed):
    code = "CANCEL_NOT_ALLOWED"


class RefundNotAllowed(NotAllowed):
    code = "REFUND_NOT_ALLOWED"


class NoSuchOrder(NotFound):
    code = "NO_SUCH_ORDER"


class NoSuchCapture(NotFound):
    code = "NO_SUCH_CAPTURE"


class TokenNotFound(NotFound):
    code = "TOKEN_NOT_FOUND"


class TokenRefused(KcoError):
    """A customer token the caller may not charge (or read): the Customer Token API's 403s."""

    code = "FORBIDDEN"


class TokenForbidden(TokenRefused):
    code = "TOKEN_FORBIDDEN"


class TokenCancelled(TokenRefused):
    code = "TOKEN_CANCELLED"


class TokenSuspended(TokenRefused):
    code = "TOKEN_SUSPENDED"


class PaymentMethodFailed(TokenRefused):
    code = "PAYMENT_METHOD_FAILED"


class PaymentMethodCurrencyMismatch(TokenRefused):
    code = "PAYMENT_METHOD_CURRENCY_MISMATCH"


class DistributionRefused(KcoError):
    """A Hosted Payment Page session cannot be distributed as asked: the vendor's codes."""

    code = "UNKNOWN"


class MissingContactData(DistributionRefused):
    code = "MISSING_CONTACT_DATA"


class ConstraintViolation(DistributionRefused):
    code = "CONSTRAINT_VIOLATION"


class UnsupportedCountry(DistributionRefused):
    code = "UNSUPPORTED_COUNTRY"
