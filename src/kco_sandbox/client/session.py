"""What both clients give httpx: the base URL, credentials, time-outs and user agent."""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any, Final

import httpx

from kco_sandbox.client.operations import Call

DEFAULT_TIMEOUT_SECONDS: Final = 30.0


@functools.cache
def user_agent() -> str:
    """`kco-sandbox-client/<version>`, so the server's logs tell the client's calls apart."""
    try:
        version = metadata.version("kco-sandbox")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        version = "0"
    return f"kco-sandbox-client/{version}"


def client_options(base_url: str, username: str, password: str, timeout: float) -> dict[str, Any]:
    """The keyword arguments of `httpx.Client` and `httpx.AsyncClient`.

    `trust_env=False`: a sandbox is reached directly; a proxy from `HTTP_PROXY` in a developer's
    or CI environment would only stand in the way of `localhost`.
    """
    return {
        "base_url": base_url,
        "auth": httpx.BasicAuth(username, password),
        "timeout": timeout,
        "headers": {"User-Agent": user_agent()},
        "trust_env": False,
    }


def request_options(call: Call) -> dict[str, Any]:
    """The keyword arguments of `request()` for `call`."""
    return {
        "method": call.method,
        "url": call.path,
        "json": call.body,
        "headers": dict(call.headers),
        "timeout": httpx.USE_CLIENT_DEFAULT if call.timeout is None else call.timeout,
    }
