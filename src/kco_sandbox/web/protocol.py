"""The HTTP/1.1 protocol the server runs: uvicorn's h11 protocol, tolerant of one client habit.

Why h11: it writes header names exactly as the application spells them, which strict clients need
(see `wire.py`); uvicorn's httptools protocol lower-cases them.

The habit: some clients (the `@crystallize/node-klarna` library, for one) write a `{}` or `[]`
body after a GET that carries neither `Content-Length` nor `Transfer-Encoding`. By HTTP/1.1 such a
request has no body, so on a kept-alive connection those two bytes would be read as the start of
the next request and break it. Here they are dropped, and nothing else changes: a request line can
never begin with `{` or `[`, so no valid request is ever altered.
"""

from __future__ import annotations

import re
from typing import Final

from uvicorn.protocols.http.h11_impl import H11Protocol

_STRAY_BODIES: Final = (b"{}", b"[]")
_FRAMED: Final = re.compile(rb"\r\n(?:content-length|transfer-encoding)[ \t]*:", re.IGNORECASE)
_HEAD_END: Final = b"\r\n\r\n"


class TolerantH11Protocol(H11Protocol):
    _stray_may_follow = False  # the last segment ended with the head of an unframed request

    def data_received(self, data: bytes) -> None:
        data = self._without_stray_body(data)
        if data:  # empty data would tell h11 that the peer closed the connection
            super().data_received(data)

    def _without_stray_body(self, data: bytes) -> bytes:
        if self._stray_may_follow and data[:2] in _STRAY_BODIES:
            data = data[2:]
        self._stray_may_follow = False
        end = data.find(_HEAD_END)
        if end < 0 or data[:1] in (b"{", b"["):
            return data
        head_end = end + len(_HEAD_END)
        if _FRAMED.search(data, 0, head_end):
            return data  # a framed body follows; h11 reads it
        if head_end == len(data):
            self._stray_may_follow = True
        elif data[head_end : head_end + 2] in _STRAY_BODIES:
            data = data[:head_end] + data[head_end + 2 :]
        return data
