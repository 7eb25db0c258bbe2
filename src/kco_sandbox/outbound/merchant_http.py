"""The one HTTP edge towards merchants: every call the platform makes to a merchant goes here.

Checkout callbacks (`services/purchase.py`) and push and notification attempts
(`services/delivery.py`) are the same kind of request, so they are made the same way:

- one `httpx.Client`: redirects are not followed (a `30x` is an answer the caller acts on), and
  no proxy or other setting is taken from the environment (`trust_env=False`: the sandbox calls
  exactly the URL the merchant gave, `localhost` included);
- one `User-Agent`, `kco-sandbox/<version>`; `Content-Type: application/json` when there is a body;
- any HTTP answer is returned, its body read up to `MAX_BODY` bytes (a merchant cannot make the
  platform hold an endless answer in memory);
- no answer is described instead, one way for every caller: no answer in time is a time-out
  ("no answer within 3 s"); a refused connection or a broken answer is the transport error's name
  and text.

The client is safe to share between threads (the web handlers and the delivery worker).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from kco_sandbox import __version__
from kco_sandbox.domain.purchase.callback import Answer

USER_AGENT = f"kco-sandbox/{__version__}"
MAX_BODY = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Call:
    """One call as it happened: what came back, and how long it took."""

    answer: Answer
    duration_ms: float


class MerchantHttp:
    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(follow_redirects=False, trust_env=False)

    def post(self, url: str, body: bytes, timeout: float) -> Call:
        """POST `body` (JSON, or nothing) to `url`, waiting at most `timeout` seconds at a time."""
        started = time.perf_counter()
        headers = {"User-Agent": USER_AGENT}
        if body:
            headers["Content-Type"] = "application/json"
        try:
            with self._client.stream(
                "POST", url, content=body, headers=headers, timeout=timeout
            ) as response:
                answer = Answer(
                    status=response.status_code,
                    body=_capped(response),
                    location=response.headers.get("location"),
                )
        except httpx.TimeoutException:
            answer = Answer(status=None, timed_out=True, error=f"no answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            answer = Answer(status=None, error=f"{type(exc).__name__}: {exc}")
        return Call(answer, round((time.perf_counter() - started) * 1000, 1))

    def close(self) -> None:
        self._client.close()


def _capped(response: httpx.Response) -> bytes:
    """The body up to `MAX_BODY` bytes; the rest is not read (closing drops the connection)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk[: MAX_BODY - len(body)]
        if len(body) >= MAX_BODY:
            break
    return bytes(body)
