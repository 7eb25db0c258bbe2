"""The vendor's playground recordings and OpenAPI files, read from the shared reference folder.

The reference folder sits beside the project (`../shared/reference`); set
`KCO_SANDBOX_REFERENCE_DIR` to read it from elsewhere.
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


def reference_dir() -> Path:
    configured = os.environ.get("KCO_SANDBOX_REFERENCE_DIR")
    folder = Path(configured) if configured else ROOT.parent / "shared" / "reference"
    if not folder.is_dir():
        pytest.fail(f"the vendor reference folder is missing: {folder}")
    return folder


@cache
def recordings() -> list[dict[str, Any]]:
    path = reference_dir() / "recordings" / "playground-recordings.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def checkout_recordings() -> list[dict[str, Any]]:
    return [r for r in recordings() if "/checkout/v3/" in r["request"]["uri"]]


@cache
def checkout_openapi() -> dict[str, Any]:
    path = reference_dir() / "openapi" / "kustom-checkout-api-openapi.yml"
    spec: dict[str, Any] = yaml.safe_load(path.read_text())
    return spec
