"""The demo shop's HTTP plumbing: its pages as responses with their own Content-Security-Policy,
and the one form it reads, counted as it arrives.
"""

from __future__ import annotations

import base64
import hashlib
import html as markup
import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

FORM_LIMIT: Final = 4096  # bytes; the shop's one form is a few bytes long
_NO_STORE: Final = {"Cache-Control": "no-store"}

# The inline code of a page: its own stylesheet, and the html_snippet's style, attribute and
# script, which the shop embeds unchanged.
_INLINE_SCRIPT: Final = re.compile(r"<script\b([^>]*)>(.*?)</script", re.DOTALL | re.IGNORECASE)
_INLINE_STYLE: Final = re.compile(r"<style\b[^>]*>(.*?)</style", re.DOTALL | re.IGNORECASE)
_STYLE_ATTRIBUTE: Final = re.compile(r"""\sstyle=(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_SRC: Final = re.compile(r"\ssrc\s*=", re.IGNORECASE)


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(html: str) -> str:
    """The page's `Content-Security-Policy`: its inline code allowed by hash, nothing else inline.

    Scripts, frames and the rest come from this origin only (the snippet's bootstrap script and
    checkout frame are the platform's, which serves the shop); only this origin may frame it.
    """
    scripts = [
        _hash(code)
        for attributes, code in _INLINE_SCRIPT.findall(html)
        if not _SRC.search(attributes)
    ]
    styles = [_hash(code) for code in _INLINE_STYLE.findall(html)]
    attributes = [_hash(markup.unescape(a or b)) for a, b in _STYLE_ATTRIBUTE.findall(html)]
    if attributes:
        styles += ["'unsafe-hashes'", *attributes]
    script_src = " ".join(["'self'", *dict.fromkeys(scripts)])
    style_src = " ".join(["'self'", *dict.fromkeys(styles)])
    return (
        f"default-src 'self'; script-src {script_src}; style-src {style_src}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )


def page(html: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    policy = {"Content-Security-Policy": content_security_policy(html)}
    return HTMLResponse(
        html, status_code=status, headers={**_NO_STORE, **policy, **(headers or {})}
    )


class FormTooLarge(Exception):
    """A form body over the shop's limit."""


async def read_form(request: Request, limit: int) -> dict[str, list[str]]:
    """The URL-encoded form in the body; `FormTooLarge` past `limit` bytes, without reading on.

    Anyone may post to a shop, so the body is counted as it arrives rather than read whole.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FormTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FormTooLarge()
        chunks.append(chunk)
    return parse_qs(b"".join(chunks).decode("utf-8", "replace"))
