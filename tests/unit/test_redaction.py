"""What is never logged: a callback URL's user name and password, its query string, and the
`Authorization` value made of them — whatever the level, through the handler `logs.configure`
installs, while a real push goes to a real local receiver.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest

from kco_sandbox import logs
from kco_sandbox.clock import FrozenClock, MerchantClocks
from kco_sandbox.domain.delivery import Callback, CallbackKind, Delivery
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.services.delivery import DeliveryService, without_query
from kco_sandbox.store import Store
from tests.factories import MERCHANT
from tests.receiver import Receiver, Reply

QUIETED = ("alembic", "httpx", "httpcore")


@pytest.fixture
def root_logging() -> Iterator[io.StringIO]:
    """A stream for `logs.configure`; the loggers' handlers and levels come back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in QUIETED}
    yield io.StringIO()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("level", ["debug", "info"])
def test_a_push_logs_neither_credentials_nor_query(
    store: Store,
    clock: FrozenClock,
    merchant_http: MerchantHttp,
    receiver: Receiver,
    root_logging: io.StringIO,
    level: str,
    log_format: str,
) -> None:
    logs.configure(level, log_format, stream=root_logging)
    receiver.on("/push", Reply(200))
    url = receiver.url.replace("http://", "http://user:secret@") + "/push?token=abc"
    now = clock.now()
    store.outbox.enqueue(
        Callback(
            callback_id="cb-order-1-push",
            order_id="order-1",
            merchant_id=MERCHANT.merchant_id,
            kind=CallbackKind.PUSH,
            url=url,
            body=b"",
            starts_at=now,
            next_attempt_at=now,
        ),
        now,
    )
    clock.advance(timedelta(seconds=1))
    service = DeliveryService(MerchantClocks(clock), store, merchant_http, Delivery(timeout=2.0))

    assert service.deliver_due() == 1

    [push] = receiver.calls("/push")
    authorization = push.headers["Authorization"]  # the password did go to the merchant
    assert authorization == "Basic " + base64.b64encode(b"user:secret").decode()
    assert push.path == "/push?token=abc"
    written = root_logging.getvalue()
    assert f"url={receiver.url}/push " in written  # the attempt is logged, the URL stripped
    for secret in ("secret", "user:", "token=abc", "?token", authorization.split()[1]):
        assert secret not in written


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("http://user:secret@example.com:8080/push?token=abc#x", "http://example.com:8080/push"),
        ("https://user@example.com/p/q?a=1", "https://example.com/p/q"),
        ("https://:pw@[::1]:9/push", "https://[::1]:9/push"),
        ("https://example.com/push", "https://example.com/push"),
    ],
)
def test_the_logged_url_has_no_userinfo_query_or_fragment(url: str, logged: str) -> None:
    assert without_query(url) == logged
