"""One synchronous HTTP call to a merchant's callback URL: the network edge of the checkout.

Redirects are not followed (a `30x` is an answer the platform acts on); any HTTP answer is
returned, and no answer (time-out, refused connection, broken response) is described instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from kco_sandbox import __version__
from kco_sandbox.domain.purchase.callback import Answer

USER_AGENT = f"kco-sandbox/{__version__} (checkout callbacks)"
MAX_BODY = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Call:
    answer: Answer
    duration_ms: float


class MerchantCaller:
    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(follow_redirects=False, trust_env=False)

    def post_json(self, url: str, body: bytes, timeout: float) -> Call:
        started = time.perf_counter()
        try:
            response = self._client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
                timeout=timeout,
            )
            answer = Answer(
                status=response.status_code,
                body=response.content[:MAX_BODY],
                location=response.headers.get("location"),
            )
        except httpx.TimeoutException:
            answer = Answer(status=None, timed_out=True, error=f"no answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            answer = Answer(status=None, error=f"{type(exc).__name__}: {exc}")
        return Call(answer, round((time.perf_counter() - started) * 1000, 1))

    def close(self) -> None:
        self._client.close()
