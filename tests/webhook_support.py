"""A receiver's side of webhooks, written from the documented algorithm (webhooks-api.md §6)
with the standard library only, independent of the platform's signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from tests.receiver import Received

TOLERANCE = 300  # seconds, as the vendor's integrators check


def verify(received: Received, secret: str, now: float | None = None) -> bool:
    """Whether `received` carries a valid `v1` signature by `secret` (and a fresh timestamp
    when `now` is given)."""
    headers = {name.lower(): value for name, value in received.headers.items()}
    message_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not message_id or not timestamp or not signatures or not timestamp.isdigit():
        return False
    if now is not None and abs(now - int(timestamp)) > TOLERANCE:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


def signatures(received: Received) -> list[str]:
    headers = {name.lower(): value for name, value in received.headers.items()}
    return headers["webhook-signature"].split(" ")


def header(received: Received, name: str) -> str:
    return {n.lower(): v for n, v in received.headers.items()}[name]


def fresh(received: Received) -> bool:
    return abs(time.time() - int(header(received, "webhook-timestamp"))) <= TOLERANCE


def event(received: Received) -> dict[str, Any]:
    body: dict[str, Any] = received.json()
    return body
