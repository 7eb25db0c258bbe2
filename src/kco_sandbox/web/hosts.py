"""Which `Host` a request may name, the public base URL built from it, and the middleware that
answers any other `Host` with a 400 before a handler runs.

Without `--public-url` the platform builds `Location` headers and the `html_snippet`'s URLs from
the `Host` the client sent. A client could name any host there, so only the server's own names
are taken: the listen address, `localhost`, `127.0.0.1` and `[::1]` (on any port, since they can
only name this machine), and each `--allowed-host` (`name` on any port, `name:port` on that port
only). Names are compared without case and without a trailing dot. Any other `Host`, a malformed
one, or two `Host` headers get `400 BAD_VALUE` on every path. A request without `Host`
(HTTP/1.0) is served, with the listen address as its base. With `--public-url` the `Host` decides
nothing, so it is not checked: a reverse proxy in front may forward any.

Nothing here decides where the platform itself sends a request: the demo shop calls the platform
at `listen_url`, never at a URL taken from a request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kco_sandbox.settings import Settings
from kco_sandbox.web.errors import error_body

LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "[::1]")
# A wildcard listen address, as the server names it when it calls itself.
_WILDCARDS: Final = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}
# A host name or IPv4 address, or an IPv6 address in brackets; then an optional port.
_HOST: Final = re.compile(
    r"(?P<name>\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)\.?(?::(?P<port>[0-9]{0,5}))?"
)
REFUSAL: Final = (
    "Bad value: Host",
    "This server does not answer to that host name: name it with --allowed-host, "
    "or set --public-url",
)


def split_host(value: str) -> tuple[str, int | None] | None:
    """`"Example.com:8000"` → `("example.com", 8000)`; None when it is no host at all."""
    found = _HOST.fullmatch(value.strip().lower())
    if found is None:
        return None
    port = found.group("port")
    return found.group("name"), int(port) if port else None


def url_host(host: str) -> str:
    """A listen address as it goes in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def listen_url(settings: Settings) -> str:
    """Where this server can call itself: the listen address and port (`settings.port` is the
    bound one, `--port 0` included); a wildcard address (`0.0.0.0`, `::`) means loopback."""
    host = url_host(settings.host)
    return f"http://{_WILDCARDS.get(host, host)}:{settings.port}"


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The `Host` values a request may carry: names on any port, and (name, port) pairs."""

    names: frozenset[str]
    pairs: frozenset[tuple[str, int]]

    @classmethod
    def of(cls, listen_host: str, allowed: Iterable[str]) -> HostPolicy:
        names = set(LOOPBACK_NAMES)
        own = split_host(url_host(listen_host))
        if own is not None:
            names.add(own[0])
        pairs: set[tuple[str, int]] = set()
        for entry in allowed:
            parsed = split_host(entry)
            if parsed is None:
                continue  # names nothing a client could send
            name, port = parsed
            if port is None:
                names.add(name)
            else:
                pairs.add((name, port))
        return cls(frozenset(names), frozenset(pairs))

    @classmethod
    def for_settings(cls, settings: Settings) -> HostPolicy:
        return _policy(settings.host, settings.allowed_hosts)

    def allows(self, host: str) -> bool:
        parsed = split_host(host)
        if parsed is None:
            return False
        name, port = parsed
        return name in self.names or (port is not None and (name, port) in self.pairs)


@functools.lru_cache(maxsize=16)
def _policy(listen_host: str, allowed: tuple[str, ...]) -> HostPolicy:
    """Built once per configuration: every request's `base_url` asks."""
    return HostPolicy.of(listen_host, allowed)


def public_base(settings: Settings, scheme: str, host: str | None) -> str:
    """The base of the URLs handed to clients: `--public-url`, else the scheme and the `Host`
    the client used when it is one of the server's own names, else the listen address."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    parsed = split_host(host) if host else None
    if parsed is not None and HostPolicy.for_settings(settings).allows(host or ""):
        name, port = parsed
        return f"{scheme}://{name}" + (f":{port}" if port is not None else "")
    return listen_url(settings)


class HostGuard:
    """ASGI: a request whose `Host` is not allowed is answered `400` here, before routing.

    It sits inside `WireMiddleware`, so the answer has the correlation id, canonical header
    names and an access-log line like any other.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.policy = None if settings.public_url else HostPolicy.for_settings(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.policy is None or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        correlation = str(scope.get("state", {}).get("correlation_id", ""))
        body = error_body("BAD_VALUE", list(REFUSAL), correlation)
        await Response(body, status_code=400, media_type="application/json")(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        assert self.policy is not None
        hosts = [value for name, value in scope["headers"] if name.lower() == b"host"]
        if not hosts:
            return True  # HTTP/1.0: the listen address is the base (`public_base`)
        return len(hosts) == 1 and self.policy.allows(hosts[0].decode("latin-1"))
