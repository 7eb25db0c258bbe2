"""The errors the platform answers with, one class per vendor `error_code`.

    KcoError
    ├── BadValue            BAD_VALUE          a field or a rule between fields is violated
    ├── ReadOnlyOrder       READ_ONLY_ORDER    the order can no longer be changed
    ├── NotFound            NOT_FOUND          no such order (for this merchant)
    ├── OrderExpired        NOT_FOUND          the order passed its lifetime (answered with no body)
    ├── PayloadTooLarge     PAYLOAD_TOO_LARGE  the request body is over the configured limit
    ├── HttpError           HTTP_ERROR         an unknown path or a method the path does not take
    └── Unauthorized        UNAUTHORIZED       missing or wrong credentials

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


class ReadOnlyOrder(KcoError):
    code = "READ_ONLY_ORDER"

    def __init__(self) -> None:
        super().__init__("Resource is read-only")


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
