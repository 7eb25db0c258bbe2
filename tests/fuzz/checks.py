"""What every fuzzed answer must satisfy, and the schema conformance that is only reported.

Must hold (a broken one fails the run):
- no answer is a 5xx;
- every answer carries `Klarna-Correlation-Id`;
- every 4xx with a body is the vendor's error JSON, `{error_code, error_messages,
  correlation_id}`, its correlation id the header's. The one exception is the vendor's own: a
  missing or wrong credential is answered `401` with the edge's HTML page and a
  `WWW-Authenticate` challenge (`web/errors.py`), which the vendor's SDKs expect.

Reported only: schemathesis's conformance checks against the vendor's response definitions
(status codes, content types, headers, body schemas). The vendor's files are incomplete there
(most operations list no 400, 401 or 405), so a finding is a lead, not a failure.
"""

from __future__ import annotations

import json
from typing import Any

from schemathesis import Case, Response
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CORRELATION_HEADER = "Klarna-Correlation-Id"
CONFORMANCE_CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def header(response: Response, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None


def _is_vendor_error(body: Any, correlation: str | None) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("error_code"), str)
        and isinstance(body.get("error_messages"), list)
        and all(isinstance(m, str) for m in body["error_messages"])
        and isinstance(body.get("correlation_id"), str)
        and body["correlation_id"] == correlation
    )


def broken(response: Response) -> list[str]:
    """The must-hold rules this answer breaks, each a short reason (empty: none)."""
    reasons: list[str] = []
    status = response.status_code
    if status >= 500:
        reasons.append(f"server error {status}")
    correlation = header(response, CORRELATION_HEADER)
    if not correlation:
        reasons.append(f"no {CORRELATION_HEADER} header")
    if 400 <= status < 500 and response.content:
        if status == 401 and header(response, "WWW-Authenticate"):
            return reasons  # the vendor's edge page for a bad credential
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if not _is_vendor_error(body, correlation):
            reasons.append(f"{status} body is not the vendor's error JSON")
    return reasons


def conformance(case: Case[Any], response: Response) -> list[str]:
    """The titles of the conformance checks this answer fails (reported, not a failure)."""
    try:
        case.validate_response(response, checks=CONFORMANCE_CHECKS)
    except FailureGroup as group:
        return sorted({failure.title for failure in group.exceptions})
    return []
