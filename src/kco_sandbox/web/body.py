"""Reading request bodies as real clients send them.

Chunked bodies, bodies without `Content-Length`, any `Content-Type` (the vendor parses JSON
whatever the header says) and an empty body on a POST are all accepted. A body over the limit is
refused with 413 without reading the rest: the protocol (`protocol.py`) then marks the answer
`Connection: close` and drains what the client still sends for a moment before closing, so a
client that writes its whole body before reading gets the 413 rather than a reset.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from starlette.requests import Request

from kco_sandbox.domain import decoding
from kco_sandbox.domain.errors import BadValue, PayloadTooLarge

T = TypeVar("T")

_decode = msgspec.json.Decoder().decode


async def read_body(request: Request, limit: int) -> bytes:
    headers = request.headers
    declared = headers.get("content-length")
    if declared is None and "transfer-encoding" not in headers:
        return b""  # no framing, no body (HTTP/1.1): nothing to wait for

    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object; an empty body counts as `{}`."""
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    try:
        value = _decode(raw)
    except msgspec.DecodeError as exc:
        raise BadValue("body", f"malformed JSON: {exc}") from None
    except RecursionError:  # msgspec refuses nesting deeper than it recurses (some 1000 levels)
        raise BadValue("body", "JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise BadValue("body", "a JSON object is required")
    return value


async def decode(request: Request, limit: int, kind: type[T]) -> T:
    """The body as a `kind` (see `domain.decoding`): the one decoding path of every handler."""
    return decoding.decode(await read_json_object(request, limit), kind)
