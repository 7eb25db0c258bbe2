"""`StrayBodyFilter`: the one client habit the server tolerates (`protocol.py` applies it).

The habit: some clients (the `@crystallize/node-klarna` library, for one) write a `{}` or `[]`
body after a GET that carries neither `Content-Length` nor `Transfer-Encoding`. By HTTP/1.1 such a
request has no body, so on a kept-alive connection those two bytes would be read as the start of
the next request and break it. Here they are dropped, and nothing else changes: a request line can
never begin with `{` or `[`, so no valid request is ever altered.

To know where a request starts, `StrayBodyFilter` follows the connection's framing across TCP
segments however the bytes are split: it collects each request's head until its blank line,
counts a `Content-Length` or chunked body through (the node client sends its POST bodies
chunked), and drops two bytes only right after the head of a request that had no framing at
all. Anything it does not fully understand (another transfer coding, an upgrade, `CONNECT`, an
odd head or chunk line) ends its work: from there on every byte passes untouched.
"""

from __future__ import annotations

import re
from enum import Enum, auto
from typing import Final

_STRAY_BODIES: Final = (b"{}", b"[]")
_STRAY_OPENERS: Final = (b"{", b"[")
_HEAD_END: Final = re.compile(rb"\r?\n\r?\n")
_MAX_HEAD: Final = 64 * 1024  # past h11's own limit: h11 refuses such a head anyway
_LENGTH: Final = re.compile(rb"[0-9]+")
_CHUNK_SIZE: Final = re.compile(rb"[0-9A-Fa-f]+")
_MAX_LINE: Final = 4096


class _State(Enum):
    HEAD = auto()  # collecting a request head
    BODY = auto()  # counting a Content-Length body through
    CHUNK_SIZE = auto()  # reading a chunk-size line
    CHUNK_DATA = auto()  # counting a chunk and its CRLF through
    TRAILER = auto()  # reading a chunked body's trailer, up to its blank line
    OPAQUE = auto()  # lost track (or nothing to track): pass everything


class StrayBodyFilter:
    """Drops a stray `{}`/`[]` after an unframed request head; never touches any other byte."""

    def __init__(self) -> None:
        self._state = _State.HEAD
        self._head = b""  # the current request's head so far
        self._body_left = 0
        self._stray_may_follow = False  # the last head was complete and unframed
        self._held = b""  # a lone `{` or `[` that may be the first half of a stray body
        self._line = b""  # a chunk-size line or the trailer so far

    def feed(self, data: bytes) -> bytes:
        """The bytes to hand to the HTTP parser for `data`, a stray body taken out."""
        out = bytearray()
        if self._held:
            data, self._held = self._held + data, b""
        while data and self._state is not _State.OPAQUE:
            if self._state in (_State.BODY, _State.CHUNK_DATA):
                taken = min(self._body_left, len(data))
                out += data[:taken]
                data = data[taken:]
                self._body_left -= taken
                if self._body_left == 0:
                    chunked = self._state is _State.CHUNK_DATA
                    self._state = _State.CHUNK_SIZE if chunked else _State.HEAD
                continue
            if self._state is _State.CHUNK_SIZE:
                data = self._chunk_size(data, out)
                continue
            if self._state is _State.TRAILER:
                data = self._trailer(data, out)
                continue
            if self._stray_may_follow and not self._head:
                if data in _STRAY_OPENERS:
                    self._held = data  # wait for the second byte
                    return bytes(out)
                if data[:2] in _STRAY_BODIES:
                    data = data[2:]
                self._stray_may_follow = False
                continue
            data = self._collect_head(data, out)
        return bytes(out + data)

    def _collect_head(self, data: bytes, out: bytearray) -> bytes:
        """Pass head bytes of `data` to `out`; return what follows the head, if it ended."""
        before = len(self._head)
        self._head += data
        if self._head[:1] in (b"\r", b"\n"):
            self._state = _State.OPAQUE  # a blank line first: h11 refuses it, nothing to track
            return data
        end = _HEAD_END.search(self._head, max(0, before - 3))  # may straddle two segments
        if end is None:
            out += data
            if len(self._head) > _MAX_HEAD:
                self._state = _State.OPAQUE
            return b""
        taken = end.end() - before
        out += data[:taken]
        self._frame(self._head[: end.end()])
        self._head = b""
        return data[taken:]

    def _chunk_size(self, data: bytes, out: bytearray) -> bytes:
        """Pass a chunk-size line through; return what follows it, if it ended."""
        before = len(self._line)
        self._line += data
        end = self._line.find(b"\n")
        if end < 0:
            out += data
            if len(self._line) > _MAX_LINE:
                self._state = _State.OPAQUE
            return b""
        taken = end + 1 - before
        out += data[:taken]
        line, self._line = self._line[: end + 1], b""
        size = line.removesuffix(b"\r\n").split(b";")[0].strip(b" \t")
        if not line.endswith(b"\r\n") or not _CHUNK_SIZE.fullmatch(size):
            self._state = _State.OPAQUE
            return data[taken:]
        self._body_left = int(size, 16)
        if self._body_left:
            self._body_left += 2  # the CRLF after the chunk
            self._state = _State.CHUNK_DATA
        else:
            self._state = _State.TRAILER
        return data[taken:]

    def _trailer(self, data: bytes, out: bytearray) -> bytes:
        """Pass the trailer through; return what follows its blank line, if it ended."""
        before = len(self._line)
        self._line += data
        blank = re.match(rb"\r?\n", self._line) or _HEAD_END.search(self._line)
        if blank is None:
            out += data
            if len(self._line) > _MAX_HEAD:
                self._state = _State.OPAQUE
            return b""
        taken = blank.end() - before
        out += data[:taken]
        self._line = b""
        self._state = _State.HEAD
        return data[taken:]

    def _frame(self, head: bytes) -> None:
        """Decide from a complete head what follows it: a body of known length, or nothing."""
        lines = re.split(rb"\r?\n", head.rstrip(b"\r\n"))
        request_line, fields = lines[0], lines[1:]
        if request_line.upper().startswith(b"CONNECT "):
            self._state = _State.OPAQUE
            return
        lengths: set[bytes] = set()
        codings: list[bytes] = []
        for line in fields:
            name, colon, value = line.partition(b":")
            name = name.strip(b" \t").lower()
            if not colon or line[:1] in (b" ", b"\t") or name == b"upgrade":
                self._state = _State.OPAQUE  # folded, odd or upgraded: stop following
                return
            if name == b"content-length":
                lengths.add(value.strip(b" \t"))
            elif name == b"transfer-encoding":
                codings.append(value.strip(b" \t").lower())
        if codings:
            chunked = codings == [b"chunked"] and not lengths
            self._state = _State.CHUNK_SIZE if chunked else _State.OPAQUE
            return
        if not lengths:
            self._stray_may_follow = True
            return
        length = lengths.pop()
        if lengths or not _LENGTH.fullmatch(length):
            self._state = _State.OPAQUE
            return
        self._body_left = int(length)
        self._state = _State.BODY if self._body_left else _State.HEAD
