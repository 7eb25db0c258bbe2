"""The vendor's playground recordings (in this repository) and OpenAPI files (outside it).

The recordings live in `tests/data/recordings/`, beside their licence (MIT,
`LICENSE-recordings.txt`), so the replay tests always run.

The vendor's OpenAPI files carry no licence to redistribute them, so they stay outside the
repository: in `openapi/` of the reference folder, `../shared/reference` beside the project or
`KCO_SANDBOX_REFERENCE_DIR`. Without them the tests that need them are skipped, with one line
saying what is missing; `KCO_SANDBOX_REQUIRE_REFERENCE=1` (as in CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "tests" / "data" / "recordings" / "playground-recordings.jsonl"
CHECKOUT_OPENAPI = "kustom-checkout-api-openapi.yml"
OM_OPENAPI = "order-management-api-openapi.yml"


def reference_dir() -> Path:
    """The folder holding the vendor's `openapi/` files (it may not exist)."""
    configured = os.environ.get("KCO_SANDBOX_REFERENCE_DIR")
    return Path(configured) if configured else ROOT.parent / "shared" / "reference"


def _required() -> bool:
    return os.environ.get("KCO_SANDBOX_REQUIRE_REFERENCE") == "1"


def _missing(name: str) -> str | None:
    """Why the vendor's OpenAPI file `name` cannot be read, or None if it can."""
    path = reference_dir() / "openapi" / name
    if path.is_file():
        return None
    return (
        f"vendor OpenAPI file not found: {path}: set KCO_SANDBOX_REFERENCE_DIR to a folder with "
        f"openapi/{name} (the vendor's files are not part of this repository)"
    )


def require_openapi(name: str) -> None:
    """Called at the top of a test module that needs the file: without it the whole module is
    skipped, reported on one line. When it is required, the module's tests run and each fails
    on loading the file (the rest of the run goes on)."""
    __tracebackhide__ = True  # report the skip at the test module
    message = _missing(name)
    if message is not None and not _required():
        pytest.skip(message, allow_module_level=True)


def load_openapi(name: str) -> dict[str, Any]:
    """The vendor's OpenAPI file `name`, parsed; a failure (or skip) saying what is missing."""
    message = _missing(name)
    if message is not None:
        if _required():
            pytest.fail(f"KCO_SANDBOX_REQUIRE_REFERENCE=1: {message}", pytrace=False)
        pytest.skip(message)
    spec: dict[str, Any] = yaml.safe_load((reference_dir() / "openapi" / name).read_text())
    return spec


@cache
def recordings() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDINGS.read_text().splitlines() if line.strip()]


def checkout_recordings() -> list[dict[str, Any]]:
    return [r for r in recordings() if "/checkout/v3/" in r["request"]["uri"]]


@cache
def checkout_openapi() -> dict[str, Any]:
    return load_openapi(CHECKOUT_OPENAPI)
