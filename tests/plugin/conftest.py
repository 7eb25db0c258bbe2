"""The plugin's tests: `pytester` runs scratch projects in a pytest of their own.

`pytester` is registered here rather than with `pytest_plugins`, which pytest refuses in a
conftest below the top level (it would apply to the whole suite).
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
