"""Host patterns and refused address classes (pure rules of `domain/callback_hosts.py`)."""

from __future__ import annotations

import pytest

from kco_sandbox.domain.callback_hosts import (
    host_allowed,
    parse_patterns,
    refused_address,
    refused_url_field,
)

PATTERNS = parse_patterns(["shop.example", "*.Example.com", "api.test:8443", "10.0.0.5", "[::1]:9"])


@pytest.mark.parametrize(
    ("host", "port", "allowed"),
    [
        ("shop.example", 443, True),
        ("SHOP.example.", 80, True),
        ("a.shop.example", 443, False),
        ("x.example.com", 443, True),
        ("a.b.example.com", 8080, True),
        ("example.com", 443, False),  # sub-domains only
        ("evilexample.com", 443, False),
        ("api.test", 8443, True),
        ("api.test", 443, False),  # that port only
        ("10.0.0.5", 80, True),
        ("[0:0::1]", 9, True),
        ("::1", 10, False),
    ],
)
def test_patterns(host: str, port: int, allowed: bool) -> None:
    assert host_allowed(PATTERNS, host, port) is allowed


@pytest.mark.parametrize("bad", ["", "::1", "[::1", "a:b", "a:0", "*.", "u@host"])
def test_malformed_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_patterns([bad])


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),  # cloud metadata
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("100.64.0.1", True),  # shared address space, not global
        ("::1", True),
        ("fe80::1%eth0", True),
        ("fc00::1", True),
        ("::ffff:127.0.0.1", True),
        ("93.184.215.14", False),
        ("2606:4700::6810:85e5", False),
    ],
)
def test_address_classes(address: str, refused: bool) -> None:
    assert refused_address(address) is refused


def test_the_first_url_on_another_host_is_named_and_no_patterns_allow_all() -> None:
    urls = {"push": "https://shop.example/p", "validation": "https://evil.test/v", "x": None}
    assert refused_url_field(urls, PATTERNS) == "validation"
    assert refused_url_field(urls, ()) is None
    assert refused_url_field({"push": "https://shop.example:1/p"}, PATTERNS) is None
