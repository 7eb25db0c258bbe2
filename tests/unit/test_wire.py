from __future__ import annotations

import pytest

from kco_sandbox.web.wire import canonical


@pytest.mark.parametrize(
    ("name", "spelled"),
    [
        (b"content-type", b"Content-Type"),
        (b"location", b"Location"),
        (b"capture-id", b"Capture-Id"),
        (b"refund-id", b"Refund-Id"),
        (b"klarna-correlation-id", b"Klarna-Correlation-Id"),
        (b"www-authenticate", b"WWW-Authenticate"),
        (b"WWW-AUTHENTICATE", b"WWW-Authenticate"),
        (b"content-length", b"Content-Length"),
        (b"etag", b"ETag"),
    ],
)
def test_header_names_are_spelled_canonically(name: bytes, spelled: bytes) -> None:
    assert canonical(name) == spelled
