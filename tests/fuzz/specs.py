"""The vendor's Checkout v3 and Order Management OpenAPI files, loaded as schemathesis schemas.

The files are not part of this repository (no licence to redistribute them): they are found as
the conformance tests find them (`tests/conformance/recordings.py`, `KCO_SANDBOX_REFERENCE_DIR`).
The Order Management file has defects that would make every real answer "non-conforming"; the
conformance tests' repairs are applied here too, so the conformance report shows real findings.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import schemathesis
import yaml
from schemathesis import APIOperation
from schemathesis.core.result import Err
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.conformance.recordings import CHECKOUT_OPENAPI, OM_OPENAPI, reference_dir

SPEC_FILES = (CHECKOUT_OPENAPI, OM_OPENAPI)
Operation = APIOperation[Any, Any, Any, Any]


def spec_path(name: str) -> Path:
    return reference_dir() / "openapi" / name


def missing() -> str | None:
    """Why the vendor's files cannot be read (one line), or None if both can."""
    absent = [str(spec_path(name)) for name in SPEC_FILES if not spec_path(name).is_file()]
    if not absent:
        return None
    return (
        f"vendor OpenAPI file(s) not found: {', '.join(absent)}: set KCO_SANDBOX_REFERENCE_DIR "
        "to a folder with openapi/ (the vendor's files are not part of this repository)"
    )


def _repaired(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    if name != OM_OPENAPI:
        return raw
    # Imported here: the module skips itself at import time when the file is missing, and this
    # function runs only once it is known to be there.
    from tests.conformance.test_om_openapi import fix_spec

    fixed = copy.deepcopy(raw)
    fix_spec(fixed["components"]["schemas"])
    return fixed


def load_schema(name: str) -> OpenApiSchema:
    raw: dict[str, Any] = yaml.safe_load(spec_path(name).read_text())
    # An explicit, empty config: no `schemathesis.toml` found on disk changes the run.
    return schemathesis.openapi.from_dict(_repaired(name, raw), config=schemathesis.Config())


def operations() -> list[Operation]:
    """Every operation of both files, in file order (Checkout first)."""
    found: list[Operation] = []
    for name in SPEC_FILES:
        for result in load_schema(name).get_all_operations():
            if isinstance(result, Err):
                raise result.err()  # the file could not be read as OpenAPI: nothing to fuzz
            found.append(result.ok())
    return found
