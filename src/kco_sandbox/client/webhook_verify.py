"""`verify_webhook`: a receiver's check of a signed webhook delivery (Standard Webhooks), with the
standard library only, so a shop's own handler can import it as well as the tests.

A delivery carries three headers: `webhook-id`, `webhook-timestamp` (unix seconds) and
`webhook-signature` (space-separated `v1,<base64>` entries). Each entry is HMAC-SHA256, keyed
with the base64 after `whsec_` in the secret, over `{id}.{timestamp}.{raw body}`. The check
passes when one entry matches one of the secrets (a list of them covers a secret rotation) and
the timestamp is within `tolerance` seconds of `now`.

The platform stamps each attempt with the *merchant's* clock. Once a test has moved that clock
forward (`kco.advance(...)`), it runs ahead of the receiver's real time by as much: pass that
clock's time as `now` (`kco.clock()["now"]`), or `tolerance=None` to skip the freshness check
and keep the signature check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

SECRET_PREFIX: Final = "whsec_"
DEFAULT_TOLERANCE_SECONDS: Final = 300  # what the Standard Webhooks libraries allow
# A unix time in seconds has 10 digits until the year 2286; anything much longer is not one (and
# `int()` of thousands of digits is slow).
_MAX_TIMESTAMP_DIGITS: Final = 16
_MAX_SIGNATURES: Final = 16  # entries looked at; the platform sends one, two during a rotation


class WebhookVerificationError(ValueError):
    """The delivery is not one to trust: a header missing or malformed, a stale or future
    timestamp, no signature that matches, or a body that is not a JSON object."""


class HeaderItems(Protocol):
    """Anything with `items()`: a dict, `httpx.Headers`, starlette's headers, or the
    `email.message.Message` of `http.server`."""

    def items(self) -> Iterable[tuple[str, Any]]: ...


def secret_key(secret: str) -> bytes:
    """The HMAC key of a signing secret (`whsec_` + base64; the prefix may be left off)."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a signing secret is whsec_ followed by base64") from None
    if not key:
        raise ValueError("a signing secret is whsec_ followed by base64")
    return key


def expected_signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    """The base64 signature (without `v1,`) that the secret of `key` gives the delivery."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify_webhook(
    secrets: str | Sequence[str],
    headers: HeaderItems,
    body: bytes | str,
    *,
    tolerance: float | timedelta | None = DEFAULT_TOLERANCE_SECONDS,
    now: float | datetime | None = None,
) -> dict[str, Any]:
    """The delivery's envelope (`{id, merchant_id, timestamp, type, data}`) once its signature
    and timestamp check out; else `WebhookVerificationError`.

    `secrets` is the destination's `signing_secret`, or several (during a rotation, the new and
    the old). `headers` are the request's, any capitalisation; `body` its exact bytes (a `str` is
    taken as UTF-8). `now` is the time to judge the timestamp by, unix seconds or an aware
    `datetime` (default: this machine's clock); `tolerance` the seconds it may differ either way,
    or None not to look at the time at all. An invalid secret raises `ValueError`.
    """
    wanted = [secrets] if isinstance(secrets, str) else list(secrets)
    if not wanted:
        raise ValueError("verify_webhook needs at least one signing secret")
    # A bad secret is the caller's mistake, whatever the delivery: said first, always.
    keys = [secret_key(s) for s in wanted]
    raw = body.encode() if isinstance(body, str) else bytes(body)
    given = {str(name).lower(): str(value) for name, value in headers.items()}
    message_id = given.get("webhook-id", "")
    timestamp = given.get("webhook-timestamp", "")
    signatures = given.get("webhook-signature", "")
    for name, value in (
        ("webhook-id", message_id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signatures),
    ):
        if not value:
            raise WebhookVerificationError(f"the {name} header is missing")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise WebhookVerificationError(f"webhook-timestamp is not unix seconds: {timestamp[:40]!r}")
    _check_time(int(timestamp), tolerance, now)
    expected = [expected_signature(key, message_id, timestamp, raw) for key in keys]
    # Every pair is compared in constant time, and all of them, so the time taken says nothing
    # about which entry or secret came close.
    matched = False
    for entry in signatures.split()[:_MAX_SIGNATURES]:
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        for signature in expected:
            matched |= hmac.compare_digest(value.encode(), signature.encode())
    if not matched:
        raise WebhookVerificationError("no v1 signature matches the signing secret")
    return _envelope(raw)


def _check_time(
    timestamp: int, tolerance: float | timedelta | None, now: float | datetime | None
) -> None:
    if tolerance is None:
        return
    allowed = tolerance.total_seconds() if isinstance(tolerance, timedelta) else float(tolerance)
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime (or unix seconds)")
        reference = now.timestamp()
    else:
        reference = time.time() if now is None else float(now)
    if timestamp < reference - allowed:
        raise WebhookVerificationError(
            f"webhook-timestamp {timestamp} is {reference - timestamp:.0f} s old "
            f"(more than {allowed:g} s); a moved merchant clock? pass now= or tolerance=None"
        )
    if timestamp > reference + allowed:
        raise WebhookVerificationError(
            f"webhook-timestamp {timestamp} is {timestamp - reference:.0f} s in the future "
            f"(more than {allowed:g} s); a moved merchant clock? pass now= or tolerance=None"
        )


def _envelope(raw: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
    if not isinstance(envelope, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return envelope
