"""Fixtures of the end-to-end tests: Node.js and the node client package (see `node_support`),
and a browser (see `browser_support`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser_support import chromium
from tests.e2e.node_support import find_node, install_package


@pytest.fixture(params=["httptools", "h11"])
def http_parser(request: pytest.FixtureRequest) -> str:
    """Each of the server's HTTP/1.1 parsers (`--http`), for the tests of the wire itself."""
    parser: str = request.param
    return parser


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium, launched for one test."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable; skips (or fails, see `node_support`) without one."""
    return find_node()


@pytest.fixture(scope="session")
def node_modules(node: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed into a folder of this session; its `node_modules`."""
    return install_package(tmp_path_factory.mktemp("node-klarna"))
