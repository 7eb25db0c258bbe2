"""Signing webhook deliveries the Standard Webhooks way, as the vendor's receivers verify them.

A secret is `whsec_` + base64 of the key's bytes. Each attempt is signed over
`{webhook-id}.{webhook-timestamp}.{body}` (the body's exact bytes) with HMAC-SHA256; the
signature is standard base64 (with padding) after `v1,`. While a rotated-out secret still signs,
the header carries one `v1,` entry per secret, space-separated, the current secret's first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Final

SECRET_PREFIX: Final = "whsec_"
SECRET_BYTES: Final = 32  # random bytes of a new secret (Standard Webhooks asks for 24 to 64)


def format_secret(key: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(key).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a signing secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` entry: `secret`'s signature of the attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def unix_seconds(at: datetime) -> int:
    return int(at.timestamp())


def signature_headers(
    secrets: Sequence[str], message_id: str, at: datetime, body: bytes
) -> dict[str, str]:
    """The three headers of an attempt made at `at`, signed with each of `secrets`."""
    timestamp = unix_seconds(at)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets),
    }
