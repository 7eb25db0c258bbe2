"""Fixtures of the end-to-end tests: Node.js and the node client package (see `node_support`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.node_support import find_node, install_package


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable; skips (or fails, see `node_support`) without one."""
    return find_node()


@pytest.fixture(scope="session")
def node_modules(node: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed into a folder of this session; its `node_modules`."""
    return install_package(tmp_path_factory.mktemp("node-klarna"))
