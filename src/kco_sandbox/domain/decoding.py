"""The one way plain JSON becomes a typed document: convert, and say what is wrong as the vendor
does (`Bad value: <path>`, `(may not be null)` for a missing required field).

`null` means "not given" on the vendor's APIs, so top-level nulls are dropped before converting
(the checkout's merge rule drops them at every level before it gets here).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from kco_sandbox.domain.errors import BadValue

T = TypeVar("T")
# msgspec reports where a value failed only inside its message: "... - at `$.order_lines[0]`".
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")


def decode(value: Mapping[str, Any], kind: type[T]) -> T:
    """`value` as a `kind`, or the vendor's `BadValue` for the first thing wrong with it."""
    try:
        return msgspec.convert({k: v for k, v in value.items() if v is not None}, kind)
    except msgspec.ValidationError as exc:
        raise bad_value_from(exc) from None


def bad_value_from(exc: msgspec.ValidationError) -> BadValue:
    """Turn a decoding error into the vendor's `Bad value: <path>` message."""
    text = str(exc)
    at = _AT.search(text)
    path = at.group("path").lstrip(".") if at else ""
    missing = _MISSING.match(text)
    if missing:
        field = missing.group("field")
        return BadValue(f"{path}.{field}" if path else field, "may not be null")
    if "got `null`" in text:
        return BadValue(path, "may not be null")
    return BadValue(path)
