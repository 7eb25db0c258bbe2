"""`KcoApiError`: the one exception for every answer outside 2xx, in the vendor's own terms."""

from __future__ import annotations

from typing import Any

import httpx

CORRELATION_HEADER = "Klarna-Correlation-Id"


class KcoApiError(Exception):
    """The server answered with a status outside 2xx.

    `error_code`, `error_messages` and `correlation_id` come from the vendor's error body
    (`{"error_code", "error_messages", "correlation_id"}`) when there is one; otherwise the
    correlation id is the `Klarna-Correlation-Id` header's (an expired order's `404` has an empty
    body, for one). `body` is the answer's text, for anything else worth a look. A 2xx answer
    without the JSON it should hold raises it too (its `status` is then that 2xx).
    """

    def __init__(
        self,
        status: int,
        error_code: str | None = None,
        error_messages: list[str] | None = None,
        correlation_id: str | None = None,
        *,
        method: str = "",
        url: str = "",
        body: str = "",
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.error_messages = error_messages or []
        self.correlation_id = correlation_id
        self.method = method
        self.url = url
        self.body = body
        super().__init__(self._describe())

    def _describe(self) -> str:
        what = f"{self.method} {self.url} answered {self.status}".strip()
        if self.error_code:
            what += f" {self.error_code}"
        if self.error_messages:
            what += ": " + "; ".join(self.error_messages)
        elif self.body and not self.error_code:
            what += ": " + self.body[:200]
        if self.correlation_id:
            what += f" (correlation id {self.correlation_id})"
        return what

    @classmethod
    def from_response(cls, response: httpx.Response) -> KcoApiError:
        """The error an answer outside 2xx stands for (its body must have been read)."""
        body = _json_object(response)
        code = body.get("error_code")
        messages = body.get("error_messages")
        correlation_id = body.get("correlation_id") or response.headers.get(CORRELATION_HEADER)
        return cls(
            response.status_code,
            error_code=code if isinstance(code, str) else None,
            error_messages=[str(m) for m in messages] if isinstance(messages, list) else None,
            correlation_id=str(correlation_id) if correlation_id else None,
            method=response.request.method,
            url=str(response.request.url),
            body=response.text,
        )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or `{}` when it has none (empty, HTML, a JSON array, ...)."""
    try:
        body = response.json()
    except ValueError:  # an empty body, or not JSON (UnicodeDecodeError is a ValueError too)
        return {}
    return body if isinstance(body, dict) else {}
