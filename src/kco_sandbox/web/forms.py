"""Reading an HTML form post (`application/x-www-form-urlencoded`; the pages upload nothing), for
the hosted checkout page and the portal alike.

Whatever a browser or a script posts, reading it never fails with an exception other than
`BadValue` (too many fields) or the body's own 413: bad percent-escapes and bytes that are not
UTF-8 decode to replacement characters, and every value is cut to `FIELD_LIMIT` characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs

from starlette.requests import Request

from kco_sandbox.domain.errors import BadValue
from kco_sandbox.web.body import read_body

# Forms hold a few dozen short fields; this is far above what a person can type.
FORM_LIMIT: Final = 64 * 1024
FIELD_LIMIT: Final = 255


@dataclass(frozen=True, slots=True)
class Form:
    """A posted form: the last value of each field, and every value of repeated ones."""

    values: dict[str, list[str]]

    def get(self, name: str) -> str:
        found = self.values.get(name)
        return found[-1].strip()[:FIELD_LIMIT] if found else ""

    def optional(self, name: str) -> str | None:
        return self.get(name) or None

    def all(self, name: str) -> list[str]:
        return [value[:FIELD_LIMIT] for value in self.values.get(name, [])]


async def read_form(request: Request) -> Form:
    raw = await read_body(request, FORM_LIMIT)
    text = raw.decode("utf-8", "replace")
    try:
        fields = parse_qs(text, keep_blank_values=True, errors="replace", max_num_fields=500)
    except ValueError:
        raise BadValue("form", "too many fields") from None
    return Form(fields)
