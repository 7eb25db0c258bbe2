"""Where merchant callbacks may go: host patterns and the address classes that are refused.

Pure rules, no I/O. The outbound edge (`outbound/merchant_http.py`) resolves a host, asks
`refused_address` about every address it got, and connects to the one it checked; the checkout
service asks `refused_url_field` when an order is created or updated (a string check only).

A pattern is one of
- `shop.example`: that host, on any port;
- `*.example.com`: any sub-domain of `example.com` (not `example.com` itself), on any port;
- `shop.example:8443`: that host on that port only (the URL's port, or its scheme's default);
- an IP literal, `10.0.0.5` or `[2001:db8::1]`, with or without `:port`.
Host names compare case-insensitively and without a trailing dot; IP literals compare as
addresses (`[::1]` and `[0:0::1]` are the same host).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit

DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# The `merchant_urls` the platform itself calls (the others are only shown to the shopper).
CALLED_URLS: Final = (
    "push",
    "notification",
    "validation",
    "address_update",
    "shipping_option_update",
    "country_change",
)
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class HostPattern:
    host: str  # lower case, no trailing dot; an IP literal in its compressed form, no brackets
    port: int | None = None
    subdomains: bool = False  # `*.host`: sub-domains of `host` only

    def matches(self, host: str, port: int | None) -> bool:
        if self.port is not None and port != self.port:
            return False
        name = normal_host(host)
        if self.subdomains:
            return name.endswith("." + self.host)
        return name == self.host


def normal_host(host: str) -> str:
    """`host` as patterns hold it: lower case, no trailing dot, an IP literal compressed."""
    name = host.strip().strip("[]").rstrip(".").lower()
    address = ip_literal(name)
    return str(address) if address is not None else name


def ip_literal(host: str) -> IpAddress | None:
    """The address `host` spells, if it is an IP literal (brackets allowed)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def parse_pattern(text: str) -> HostPattern:
    """One pattern (see the module docstring); `ValueError` saying what is wrong."""
    spec = text.strip()
    if not spec:
        raise ValueError("a callback host pattern cannot be empty")
    port: int | None = None
    if spec.startswith("["):  # [IPv6] or [IPv6]:port
        inside, bracket, rest = spec[1:].partition("]")
        if not bracket or ip_literal(inside) is None or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: an IPv6 address goes in brackets, like [2001:db8::1]")
        host, port_text = inside, rest[1:]
    elif spec.count(":") > 1:
        raise ValueError(f"{text!r}: put an IPv6 address in brackets, like [2001:db8::1]:8443")
    else:
        host, _, port_text = spec.partition(":")
    if port_text or spec.endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    subdomains = host.startswith("*.")
    if subdomains:
        host = host[2:]
    name = normal_host(host)
    if not name or "*" in name or "/" in name or "@" in name:
        raise ValueError(f"{text!r}: expected a host like shop.example or *.example.com")
    return HostPattern(name, port, subdomains)


def parse_patterns(texts: Iterable[str]) -> tuple[HostPattern, ...]:
    return tuple(parse_pattern(text) for text in texts)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a callback URL points: its host as written, and its port (or the scheme's)."""

    host: str
    port: int | None


def target_of(url: str) -> Target | None:
    """The host and port of an absolute http(s) URL; None if it has none."""
    try:
        parts: SplitResult = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:  # a port that is not a number, a broken IPv6 literal
        return None
    if not host:
        return None
    return Target(host, port if port is not None else DEFAULT_PORTS.get(parts.scheme.lower()))


def host_allowed(patterns: Iterable[HostPattern], host: str, port: int | None) -> bool:
    return any(pattern.matches(host, port) for pattern in patterns)


def refused_url_field(
    urls: Mapping[str, str | None], patterns: tuple[HostPattern, ...]
) -> str | None:
    """The first of `urls` (name → URL) whose host no pattern allows; None if all are allowed
    (or no patterns are set: then every host is)."""
    if not patterns:
        return None
    for name, url in urls.items():
        if url is None:
            continue
        target = target_of(url)
        if target is None or not host_allowed(patterns, target.host, target.port):
            return name
    return None


def refused_address(address: str) -> bool:
    """Whether a callback may not connect to `address` without a pattern naming its host:
    loopback, private, link-local, unspecified, multicast, reserved or otherwise not global."""
    ip = ip_literal(address.split("%", 1)[0])  # an IPv6 scope (`fe80::1%eth0`) is link-local
    if ip is None:
        return True  # not an address at all: nothing to connect to safely
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
    )


def not_allowed_message(host: str) -> str:
    return f"refused: host {host} is not an allowed callback host"


def private_message(host: str, address: str) -> str:
    return f"refused: host {host} resolves to a private address ({address})"
