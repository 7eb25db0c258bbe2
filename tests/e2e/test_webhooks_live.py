"""Signed webhooks from a live `kco-sandbox serve` (and from a `kco-sandbox worker` process) to a
real local receiver, which verifies them with the documented algorithm (`tests/webhook_support`,
the standard library's hmac, hashlib and base64: not the platform's signer).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from tests.callback_support import AUTH, OM, advance, complete_order, start_worker, wait_for
from tests.factories import MERCHANT
from tests.live import LiveServer
from tests.receiver import Receiver, Reply
from tests.webhook_support import event, header, verify


def destination(client: httpx.Client, url: str, events: list[str]) -> dict[str, str]:
    created = client.post("/_sandbox/webhooks", json={"name": "e2e", "url": url, "events": events})
    assert created.status_code == 201, created.text
    body: dict[str, str] = created.json()
    return body


def test_a_capture_sends_a_signed_webhook_the_receiver_verifies(
    tmp_path: Path, receiver: Receiver
) -> None:
    server = LiveServer(tmp_path, merchants=[MERCHANT])
    server.start()
    try:
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            hook = destination(client, receiver.url + "/hooks", ["capture.created"])
            order_id = complete_order(client, receiver.url)
            captured = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 50000})
            assert captured.status_code == 201, captured.text
            # The worker inside `serve` sends it at once, on real time.
            assert wait_for(lambda: len(receiver.calls("/hooks")) >= 1, timeout=15)
            [received] = receiver.calls("/hooks")
            assert verify(received, hook["signing_secret"], now=time.time())
            payload = event(received)
            assert payload["type"] == "capture.created"
            assert payload["data"] == {
                "order_id": order_id,
                "capture_id": captured.headers["Capture-Id"],
            }
            assert header(received, "webhook-id") == payload["id"]
            # The attempt is on the order's timeline.
            assert wait_for(lambda: _webhook_attempts(client, order_id) == [200], timeout=10)
    finally:
        server.stop()


def _webhook_attempts(client: httpx.Client, order_id: str) -> list[int]:
    events = client.get(f"/_sandbox/orders/{order_id}/events").json()["events"]
    return [e["status"] for e in events if e["kind"] == "webhook.attempt"]


def test_a_worker_process_signs_what_it_delivers(tmp_path: Path, receiver: Receiver) -> None:
    server = LiveServer(tmp_path, merchants=[MERCHANT], extra_args=["--no-worker"])
    server.start()
    worker = None
    try:
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            hook = destination(client, receiver.url + "/hooks", ["order.created"])
            order_id = complete_order(client, receiver.url)
            worker = start_worker(server.database_url, tmp_path / "worker.log", "--poll", "0.1")
            assert wait_for(lambda: len(receiver.calls("/hooks")) >= 1, timeout=20), (
                tmp_path / "worker.log"
            ).read_text()
            [received] = receiver.calls("/hooks")
            assert verify(received, hook["signing_secret"], now=time.time())
            assert event(received)["data"] == {"order_id": order_id}
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0
        server.stop()


def test_retries_on_500_stop_on_410_and_the_rotation_window_ends(
    tmp_path: Path, receiver: Receiver
) -> None:
    # No worker in the server: every attempt below is made by a clock advance, so the test
    # decides when each falls due.
    server = LiveServer(tmp_path, merchants=[MERCHANT], extra_args=["--no-worker"])
    server.start()
    try:
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            hook = destination(client, receiver.url + "/hooks", ["*"])
            one = f"/_sandbox/webhooks/{hook['id']}"
            receiver.on("/hooks", Reply(status=500))
            assert client.post(one + "/test").status_code == 202
            assert advance(client, 0)["attempted"] == 1
            assert advance(client, 5)["attempted"] == 1  # the first retry, 5 s later
            receiver.on("/hooks", Reply(status=410))
            assert advance(client, 300)["attempted"] == 1  # 410 Gone: no more retries
            assert advance(client, 86400)["attempted"] == 0
            calls = receiver.calls("/hooks")
            assert [c.body for c in calls] == [calls[0].body] * 3
            assert all(verify(c, hook["signing_secret"]) for c in calls)

            receiver.on("/hooks", Reply(status=204))
            rotated = client.post(one + "/rotate-secret").json()
            client.post(one + "/test")
            advance(client, 0)
            client.post(one + "/test")
            advance(client, 601)  # past the 600 s window: the old secret no longer signs
            during, after = receiver.calls("/hooks")[3:]
            assert len(header(during, "webhook-signature").split(" ")) == 2
            assert verify(during, hook["signing_secret"])
            assert verify(during, rotated["signing_secret"])
            assert header(after, "webhook-signature").count("v1,") == 1
            assert verify(after, rotated["signing_secret"])
            assert not verify(after, hook["signing_secret"])
    finally:
        server.stop()
