"""Which `Host` a request may name, and the base URL the platform hands out for it."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from kco_sandbox.settings import Settings
from kco_sandbox.web.hosts import HostPolicy, listen_url, public_base, split_host


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("localhost", ("localhost", None)),
        ("LocalHost:8000", ("localhost", 8000)),
        ("shop.example.:443", ("shop.example", 443)),
        ("[::1]:8000", ("[::1]", 8000)),
        ("127.0.0.1:", ("127.0.0.1", None)),
    ],
)
def test_a_host_splits_into_name_and_port(value: str, parsed: tuple[str, int | None]) -> None:
    assert split_host(value) == parsed


@pytest.mark.parametrize(
    "value", ["", "a b", "user@host", "host/path", "host:80:80", "host:123456", "::1", ".", "é.com"]
)
def test_what_is_no_host_at_all(value: str) -> None:
    assert split_host(value) is None


def test_the_servers_own_names_are_allowed_on_any_port() -> None:
    policy = HostPolicy.for_settings(Settings(host="0.0.0.0", port=8000))
    for host in ("localhost", "localhost:1234", "127.0.0.1:8000", "[::1]:9", "0.0.0.0:8000"):
        assert policy.allows(host), host
    for host in ("attacker:1234", "attacker", "localhost.attacker", "127.0.0.2", "x@localhost"):
        assert not policy.allows(host), host


def test_allowed_hosts_with_and_without_a_port() -> None:
    policy = HostPolicy.for_settings(
        Settings(allowed_hosts=("Shop.Example", "kco.internal:8443", "not a host"))
    )
    assert policy.allows("shop.example")
    assert policy.allows("SHOP.EXAMPLE:9999")  # a name without a port: any port
    assert policy.allows("kco.internal:8443")
    assert not policy.allows("kco.internal")  # a name with a port: that port only
    assert not policy.allows("kco.internal:8444")
    assert not policy.allows("not a host")


def test_the_listen_url_names_a_wildcard_address_by_loopback() -> None:
    assert listen_url(Settings(host="0.0.0.0", port=4321)) == "http://127.0.0.1:4321"
    assert listen_url(Settings(host="::", port=4321)) == "http://[::1]:4321"
    assert listen_url(Settings(host="::1", port=1)) == "http://[::1]:1"
    assert listen_url(Settings(host="kco.local", port=80)) == "http://kco.local:80"


def test_the_public_base() -> None:
    local = Settings(port=8123, allowed_hosts=("shop.example",))
    assert public_base(local, "http", "Shop.Example:81") == "http://shop.example:81"
    assert public_base(local, "https", "localhost") == "https://localhost"
    assert public_base(local, "http", "attacker:1234") == "http://127.0.0.1:8123"
    assert public_base(local, "http", None) == "http://127.0.0.1:8123"
    public = Settings(public_url="https://kco.example/")
    assert public_base(public, "http", "attacker:1234") == "https://kco.example"


def test_a_disallowed_host_is_a_400_in_the_vendors_shape_on_every_path(
    client: TestClient,
) -> None:
    for method, path in [
        ("POST", "/checkout/v3/orders"),
        ("GET", "/checkout/v3/orders/x"),
        ("GET", "/kco/checkout.bootstrap.js"),
        ("GET", "/_sandbox/health"),
        ("GET", "/demo"),
        ("GET", "/no-such-path"),
    ]:
        answer = client.request(method, path, headers={"Host": "attacker:1234"})
        assert answer.status_code == 400, path
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body["error_code"] == "BAD_VALUE"
        assert body["error_messages"][0] == "Bad value: Host"
        assert body["correlation_id"] == answer.headers["klarna-correlation-id"]
        assert answer.headers["x-content-type-options"] == "nosniff"
    # The test app allows `testserver` (tests/conftest.py), and loopback names are allowed.
    assert client.get("/_sandbox/health").status_code == 200
    assert client.get("/_sandbox/health", headers={"Host": "localhost:1"}).status_code == 200
