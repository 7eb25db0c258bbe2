"""Identifier generation, injected so that tests can make ids predictable."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable

IdFactory = Callable[[], str]


def new_uuid() -> str:
    """A random UUID, the shape of every order, capture, refund and correlation id."""
    return str(uuid.uuid4())


def new_secret(prefix: str = "kco_test_api_") -> str:
    """A fresh API key in the vendor's test-key style."""
    return prefix + secrets.token_urlsafe(24)
