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
  and text; a host the platform may not call is "refused: ..." and nothing is sent.

Where a call may go (`domain/callback_hosts.py`): with host patterns set, the URL's host must match
one; with private callbacks off, the host is resolved once here, every address is checked, and the
connection goes to the checked address with the original `Host` header and TLS server name, so a
second DNS answer cannot point the call somewhere else. A host a pattern names explicitly may
resolve to a private address. A refused URL's `user:pass@` is never sent.

Synchronous checkout callbacks name their merchant: at most `slots` of one merchant's calls are in
flight at once; more wait for a slot, and the wait counts against the call's time-out.

The client is safe to share between threads (the web handlers and the delivery worker).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from kco_sandbox import __version__
from kco_sandbox.domain.callback_hosts import (
    host_allowed,
    ip_literal,
    not_allowed_message,
    parse_patterns,
    private_message,
    refused_address,
    target_of,
)
from kco_sandbox.domain.purchase.callback import Answer

USER_AGENT = f"kco-sandbox/{__version__}"
MAX_BODY = 1024 * 1024
DEFAULT_SLOTS = 8

# host, port → the addresses it resolves to (the default asks the system resolver).
Resolver = Callable[[str, int], Sequence[str]]


def system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Call:
    """One call as it happened: what came back, and how long it took."""

    answer: Answer
    duration_ms: float


@dataclass(frozen=True, slots=True)
class _Route:
    """Where to connect: the URL to request, and the headers and extensions that go with it."""

    url: str | httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str]


class MerchantHttp:
    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        callback_hosts: Sequence[str] = (),
        private_callbacks: bool = True,
        slots: int = DEFAULT_SLOTS,
        resolve: Resolver = system_resolve,
    ) -> None:
        # Made on the first call, not here: loading the CA bundle takes tens of milliseconds, on
        # every start of the server and of every test app, most of which never call a merchant.
        self._client_given = client
        self._client_made: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._patterns = parse_patterns(callback_hosts)
        self._private = private_callbacks
        self._resolve = resolve
        self._slots = max(1, slots)
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._gates_lock = threading.Lock()

    def post(
        self,
        url: str,
        body: bytes,
        timeout: float,
        merchant_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Call:
        """POST `body` (JSON, or nothing) to `url`, waiting at most `timeout` seconds at a time.

        With `merchant_id` the call takes one of that merchant's slots first (see the module
        docstring); the time spent waiting for it is taken off `timeout`. `headers` are sent as
        well (a webhook's signature); they cannot replace `Host`, `Content-Type` or `User-Agent`.
        """
        started = time.perf_counter()
        extra = dict(headers or {})
        if merchant_id is None:
            answer = self._send(url, body, timeout, extra=extra)
        else:
            gate = self._gate(merchant_id)
            if not gate.acquire(timeout=timeout):
                answer = Answer(
                    status=None,
                    timed_out=True,
                    error=f"no answer within {timeout:g} s "
                    f"({self._slots} calls to this merchant already in flight)",
                )
            else:
                try:
                    left = max(timeout - (time.perf_counter() - started), 0.001)
                    answer = self._send(url, body, left, shown_timeout=timeout, extra=extra)
                finally:
                    gate.release()
        return Call(answer, round((time.perf_counter() - started) * 1000, 1))

    @property
    def _client(self) -> httpx.Client:
        if self._client_given is not None:
            return self._client_given
        with self._client_lock:
            if self._client_made is None:
                self._client_made = httpx.Client(follow_redirects=False, trust_env=False)
            return self._client_made

    def close(self) -> None:
        if self._client_given is not None:
            self._client_given.close()
        with self._client_lock:
            if self._client_made is not None:
                self._client_made.close()

    def __enter__(self) -> MerchantHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _gate(self, merchant_id: str) -> threading.BoundedSemaphore:
        with self._gates_lock:
            gate = self._gates.get(merchant_id)
            if gate is None:
                gate = self._gates[merchant_id] = threading.BoundedSemaphore(self._slots)
            return gate

    def _send(
        self,
        url: str,
        body: bytes,
        timeout: float,
        shown_timeout: float | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> Answer:
        headers = dict(extra or {}) | {"User-Agent": USER_AGENT}
        if body:
            headers["Content-Type"] = "application/json"
        try:
            route = self._route(url)
            if isinstance(route, str):
                return Answer(status=None, error=route)
            with self._client.stream(
                "POST",
                route.url,
                content=body,
                headers=headers | route.headers,
                timeout=timeout,
                extensions=route.extensions,
            ) as response:
                return Answer(
                    status=response.status_code,
                    body=_capped(response),
                    location=response.headers.get("location"),
                )
        except httpx.TimeoutException:
            shown = shown_timeout if shown_timeout is not None else timeout
            return Answer(status=None, timed_out=True, error=f"no answer within {shown:g} s")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return Answer(status=None, error=f"{type(exc).__name__}: {exc}")

    def _route(self, url: str) -> _Route | str:
        """Where `url` may be called, or why it may not (a "refused: ..." text)."""
        if not self._patterns and self._private:
            return _Route(url, {}, {})  # every host allowed: nothing to check
        target = target_of(url)
        if target is None:
            return _Route(url, {}, {})  # httpx names what is wrong with it
        named = host_allowed(self._patterns, target.host, target.port)
        if self._patterns and not named:
            return not_allowed_message(target.host)
        if self._private:
            return _Route(url, {}, {})
        literal = ip_literal(target.host)
        port = target.port or 80
        try:
            addresses = [str(literal)] if literal else list(self._resolve(target.host, port))
        except (OSError, UnicodeError) as exc:
            return f"ConnectError: cannot resolve host {target.host} ({exc})"
        if not addresses:
            return f"ConnectError: host {target.host} resolves to no address"
        for address in addresses:
            if not named and refused_address(address):
                return private_message(target.host, address)
        return _pinned(httpx.URL(url), target.host, addresses[0])


def _pinned(url: httpx.URL, host: str, address: str) -> _Route:
    """`url` sent to `address`: the `Host` header and the TLS server name stay the URL's own."""
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    return _Route(url.copy_with(host=address), {"Host": url.netloc.decode("ascii")}, extensions)


def _capped(response: httpx.Response) -> bytes:
    """The body up to `MAX_BODY` bytes; the rest is not read (closing drops the connection)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk[: MAX_BODY - len(body)]
        if len(body) >= MAX_BODY:
            break
    return bytes(body)
