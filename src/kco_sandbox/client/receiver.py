"""`WebhookReceiver`: a local HTTP endpoint that takes a merchant's webhook deliveries, verifies
each as it arrives and lets a test wait for one; `webhook_receiver(client)` registers it as a
destination for the time of a `with` block (the `kco_webhooks` fixture is that block).

The receiver is a `ThreadingHTTPServer` on 127.0.0.1 and a free port, so the server must be able
to reach this machine's loopback: a kco-sandbox on the same machine (the plugin's own, or one
started by hand) can; one in a container or on another host cannot. It answers `204` to a
delivery that verifies and `401` to one that does not, as a shop would, so the platform retries
the latter on its schedule. It keeps the newest `max_deliveries` deliveries only, and refuses
bodies over `max_body_bytes` with `413`.

Timestamps are judged by the merchant's own clock when `webhook_receiver` sets it up: the
platform stamps each attempt with that clock, which a test may have moved far ahead of real time.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from kco_sandbox.client.errors import KcoApiError
from kco_sandbox.client.operations import JsonObject
from kco_sandbox.client.webhook_verify import (
    DEFAULT_TOLERANCE_SECONDS,
    WebhookVerificationError,
    verify_webhook,
)
from kco_sandbox.client.webhooks import ALL_EVENTS

if TYPE_CHECKING:
    from kco_sandbox.client.sync import KcoClient

MAX_DELIVERIES: Final = 500
MAX_BODY_BYTES: Final = 1024 * 1024
PATH: Final = "/webhooks"
Now = Callable[[], "float | datetime"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request the receiver took: its headers (names in lower case), exact body, when it
    came (this machine's `time.time()`), and either the verified `envelope` or the `error`."""

    headers: dict[str, str]
    body: bytes
    received_at: float
    envelope: JsonObject | None
    error: str | None

    @property
    def verified(self) -> bool:
        return self.envelope is not None

    @property
    def event_type(self) -> str | None:
        """The envelope's `type`, read from the body even when it did not verify."""
        try:
            found = json.loads(self.body).get("type")
        except (ValueError, AttributeError):
            return None
        return found if isinstance(found, str) else None


class WebhookReceiver:
    """A local webhook endpoint at `url`. Give it the destination's secret(s) (`secrets`), then
    `wait_for` what the platform sends. Use it as a context manager, or `close()` it.

    `now` is the clock to judge each `webhook-timestamp` by (default this machine's);
    `tolerance` the seconds allowed either way, or None to check signatures only.
    """

    def __init__(
        self,
        secrets: Sequence[str] = (),
        *,
        now: Now | None = None,
        tolerance: float | timedelta | None = DEFAULT_TOLERANCE_SECONDS,
        max_deliveries: int = MAX_DELIVERIES,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.secrets: list[str] = list(secrets)
        self.destination: JsonObject | None = None  # set by `webhook_receiver`
        self._now = now
        self._tolerance = tolerance
        self._max_body_bytes = max_body_bytes
        # Each delivery with its number in arrival order; `wait_for` returns each number once.
        self._deliveries: deque[tuple[int, Delivery]] = deque(maxlen=max_deliveries)
        self._received = 0
        self._taken: set[int] = set()
        self._changed = threading.Condition()
        self._client: KcoClient | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="kco-webhook-receiver", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{PATH}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def deliveries(self) -> list[Delivery]:
        """Everything received so far, oldest first (the newest `max_deliveries`)."""
        with self._changed:
            return [delivery for _, delivery in self._deliveries]

    def events(self, event_type: str | None = None) -> list[JsonObject]:
        """The verified envelopes received so far (of `event_type` only, if given)."""
        return [
            d.envelope
            for d in self.deliveries
            if d.envelope is not None and event_type in (None, d.envelope.get("type"))
        ]

    def wait_for(self, event_type: str, timeout: float = 5.0, **data: Any) -> JsonObject:
        """The verified envelope of the next delivery of `event_type` (whose `data` holds the
        given fields, e.g. `order_id=...`), waiting up to `timeout` seconds for it. Each
        delivery is returned once, so a second call waits for a second event; a retry of an
        event is a delivery of its own. A matching delivery that failed verification raises
        `WebhookVerificationError`; none in time raises `TimeoutError`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for number, delivery in self._deliveries:
                    if number in self._taken or not _matches(delivery, event_type, data):
                        continue
                    self._taken.add(number)
                    if delivery.envelope is None:
                        raise WebhookVerificationError(f"{event_type}: {delivery.error}")
                    return delivery.envelope
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [d.event_type for _, d in self._deliveries]
                    raise TimeoutError(
                        f"no {event_type} webhook {data or ''} within {timeout} s at {self.url}; "
                        f"received: {seen}"
                    )
                self._changed.wait(left)

    def rotate_secret(self) -> JsonObject:
        """Rotate the destination's secret through the client and verify with the new one and
        the one it replaced (which the platform still signs with for the rotation window)."""
        if self._client is None or self.destination is None:
            raise RuntimeError("rotate_secret needs a receiver set up by webhook_receiver()")
        rotated = self._client.rotate_webhook_secret(self.destination["id"])
        self.secrets = [str(rotated["signing_secret"]), *self.secrets[:1]]
        self.destination = rotated
        return rotated

    def send_test(self) -> JsonObject:
        """Queue a `webhook.test` event to this receiver's destination."""
        if self._client is None or self.destination is None:
            raise RuntimeError("send_test needs a receiver set up by webhook_receiver()")
        return self._client.send_test_webhook(self.destination["id"])

    def _take(self, headers: dict[str, str], body: bytes) -> bool:
        """Verify and record one delivery; whether it verified."""
        envelope: JsonObject | None = None
        error: str | None = None
        now: float | datetime | None = None
        try:
            if self._now is not None and self._tolerance is not None:
                now = self._now()
        except Exception as exc:  # the caller's clock (a server call): whatever it raised
            error = f"the clock could not be read: {type(exc).__name__}: {exc}"
        if error is None:
            try:
                envelope = verify_webhook(
                    self.secrets, headers, body, tolerance=self._tolerance, now=now
                )
            except ValueError as exc:  # WebhookVerificationError, or a bad secret
                error = f"{type(exc).__name__}: {exc}"
        with self._changed:
            self._received += 1
            self._deliveries.append(
                (self._received, Delivery(headers, body, time.time(), envelope, error))
            )
            # Numbers that fell out of the deque cannot come back: forget them.
            oldest = self._deliveries[0][0]
            self._taken = {n for n in self._taken if n >= oldest}
            self._changed.notify_all()
        return envelope is not None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length_text = self.headers.get("Content-Length") or "0"
                length = int(length_text) if length_text.isdigit() else -1
                if not 0 <= length <= receiver._max_body_bytes:
                    self._answer(413)
                    return
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                self._answer(204 if receiver._take(headers, body) else 401)

            def _answer(self, status: int) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the platform gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the deliveries are the record

        return Handler


def _matches(delivery: Delivery, event_type: str, data: dict[str, Any]) -> bool:
    if delivery.event_type != event_type:
        return False
    if not data:
        return True
    try:
        found = json.loads(delivery.body).get("data")
    except (ValueError, AttributeError):
        return False
    return isinstance(found, dict) and all(found.get(k) == v for k, v in data.items())


@contextlib.contextmanager
def webhook_receiver(
    client: KcoClient,
    events: Sequence[str] = ALL_EVENTS,
    *,
    name: str = "kco_webhooks",
    tolerance: float | timedelta | None = DEFAULT_TOLERANCE_SECONDS,
) -> Iterator[WebhookReceiver]:
    """A `WebhookReceiver` registered with `client`'s merchant as a destination for `events`
    (all by default) while the block runs, verifying with its secret and judging timestamps by
    the merchant's own clock; the destination is deleted afterwards."""
    from kco_sandbox.client.sync import KcoClient

    # The receiver's threads read the clock with a client of their own, so they never share a
    # connection pool with the test's calls.
    clock_client = KcoClient(client.base_url, client.username, client.password)

    def merchant_now() -> datetime:
        return datetime.fromisoformat(str(clock_client.clock()["now"]))

    with clock_client, WebhookReceiver(now=merchant_now, tolerance=tolerance) as receiver:
        destination = client.create_webhook(name, receiver.url, events)
        receiver.secrets = [str(destination["signing_secret"])]
        receiver.destination = destination
        receiver._client = client
        try:
            yield receiver
        finally:
            with contextlib.suppress(KcoApiError):  # the test deleted it itself
                client.delete_webhook(str(destination["id"]))
