"""Push and notification callbacks from a live `kco-sandbox serve` to a real receiver.

- a push queued before `kill -9` is still sent after the restart, and the clock keeps its offset;
- a push in flight at `kill -9` (claimed, its answer never recorded) is sent again once the
  claim's lease has run out: at least once; and (a known limitation, expected to fail) a small
  clock advance right after such a crash waits for the dead claim instead of answering;
- the worker inside `serve` delivers on real time (`--push-schedule`, `--clock-scale`), and
  acknowledging the order stops the pushes;
- the pending personas: the decision is notified, and Order Management follows it;
- the `clock`, `callbacks` and `orders` commands against the live server and its database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.callback_support import (
    AUTH,
    OM,
    StampedReceiver,
    advance,
    cli,
    complete_order,
    wait_for,
)
from tests.factories import MERCHANT
from tests.live import LiveServer


@pytest.fixture
def stamped() -> Iterator[StampedReceiver]:
    with StampedReceiver().running() as running:
        yield running


def started(tmp_path: Path, *extra_args: str) -> LiveServer:
    server = LiveServer(tmp_path, merchants=[MERCHANT], extra_args=list(extra_args))
    server.start()
    return server


def test_a_push_queued_before_sigkill_is_sent_after_the_restart(
    tmp_path: Path, stamped: StampedReceiver
) -> None:
    server = started(tmp_path)
    try:
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            order_id = complete_order(client, stamped.url)
            advance(client, 30)  # the push falls due 2 minutes after the completion
            before = client.get("/_sandbox/clock").json()
            assert before["offset_seconds"] >= 30
        assert stamped.calls("/push") == []
        server.kill()  # no shutdown: whatever is not in the database is gone
        server.start()
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            after = client.get("/_sandbox/clock").json()
            assert after["offset_seconds"] >= before["offset_seconds"]
            assert after["now"] >= before["now"]
            assert stamped.calls("/push") == []  # still not due after the restart
            advance(client, 120)
            assert wait_for(lambda: len(stamped.calls("/push")) >= 1, timeout=10)
            assert {a.order_id for a in stamped.calls("/push")} == {order_id}
            events = client.get(f"/_sandbox/orders/{order_id}/events").json()["events"]
            attempts = [e for e in events if e["kind"] == "push.attempt"]
            assert attempts
            assert attempts[0]["status"] == 200
    finally:
        server.stop()


LEASE_SECONDS = 7  # --callback-timeout 2, plus the lease's 5 s margin


def killed_with_a_push_in_flight(
    tmp_path: Path, stamped: StampedReceiver
) -> tuple[LiveServer, str]:
    """A server killed while its push waited for the merchant's answer, restarted; the order."""
    # A short time-out makes a short lease: a dead worker's claim frees itself after 2 + 5 s.
    server = started(tmp_path, "--callback-timeout", str(LEASE_SECONDS - 5))
    try:
        stamped.delay = 30.0  # the merchant hangs: the attempt is in flight when the server dies
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            order_id = complete_order(client, stamped.url)
            with pytest.raises(httpx.ReadTimeout):
                client.post("/_sandbox/clock/advance", json={"seconds": 120}, timeout=1.0)
        assert wait_for(lambda: len(stamped.calls("/push")) == 1, timeout=10)
        server.kill()  # the claim (a 7-second lease) is in the database, its attempt is not
        stamped.delay = 0.0
        server.start()
    except BaseException:
        server.stop()
        raise
    return server, order_id


def test_a_push_in_flight_at_sigkill_is_sent_again_after_the_restart(
    tmp_path: Path, stamped: StampedReceiver
) -> None:
    """At least once: a claimed push whose answer never got recorded is claimed again."""
    server, order_id = killed_with_a_push_in_flight(tmp_path, stamped)
    try:
        listed = cli("callbacks", "list", "--database-url", server.database_url, cwd=tmp_path)
        [line] = listed.stdout.splitlines()
        assert line.split()[1:4] == ["push", "pending", "attempts=0"]
        # The restarted worker leaves it alone while the lease holds. The lease counts from the
        # claim, just before the push arrived; a loaded machine can spend most of it restarting
        # the server and running the CLI, so this is looked at only while the lease surely holds.
        lease_ends = stamped.calls("/push")[0].monotonic + LEASE_SECONDS - 2.0
        if time.monotonic() + 1.5 < lease_ends:
            time.sleep(1.5)
            assert len(stamped.calls("/push")) == 1
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            # Once the lease (wall-clock time) is over, the push is claimed and sent again; the
            # advance waits for that.
            assert advance(client, 120)["attempted"] == 1
            assert [a.order_id for a in stamped.calls("/push")] == [order_id, order_id]
            events = client.get(f"/_sandbox/orders/{order_id}/events").json()["events"]
            assert [e["status"] for e in events if e["kind"] == "push.attempt"] == [200]
    finally:
        server.stop()


def test_a_small_advance_after_a_crash_waits_only_for_the_dead_claim_to_free(
    tmp_path: Path, stamped: StampedReceiver
) -> None:
    server, order_id = killed_with_a_push_in_flight(tmp_path, stamped)
    try:
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            began = time.monotonic()
            # The push is due but held by the dead server's claim: the advance answers once the
            # claim has freed itself (one lease) and the push has been attempted again.
            assert advance(client, 1)["attempted"] == 1
            assert time.monotonic() - began < 7 + 5 + 3
        assert [a.order_id for a in stamped.calls("/push")] == [order_id, order_id]
    finally:
        server.stop()


def test_the_worker_in_serve_pushes_on_real_time_until_acknowledged(
    tmp_path: Path, stamped: StampedReceiver
) -> None:
    server = started(tmp_path, "--push-schedule", "1,1,1")
    try:
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            order_id = complete_order(client, stamped.url)
            completed_at = time.monotonic()
            # No clock advance: the worker thread sends them as real time passes.
            assert wait_for(lambda: len(stamped.calls("/push")) >= 3, timeout=10)
            pushes = stamped.calls("/push")
            assert {a.order_id for a in pushes} == {order_id}
            first, third = pushes[0].monotonic, pushes[2].monotonic
            assert 0.5 <= first - completed_at <= 4.0, first - completed_at
            assert third - first >= 1.0  # one a second, not all at once
            assert client.post(f"{OM}/{order_id}/acknowledge").status_code == 204
            acknowledged = len(stamped.calls("/push"))
            time.sleep(0.5)  # an attempt already past its acknowledged check may still land
            settled = len(stamped.calls("/push"))
            assert settled <= acknowledged + 1
            time.sleep(3)  # three more attempts would have been due by now
            assert len(stamped.calls("/push")) == settled
        listed = cli("callbacks", "list", "--database-url", server.database_url, cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert "push" in listed.stdout
        assert "stopped" in listed.stdout
    finally:
        server.stop()


def test_a_faster_clock_brings_the_first_push_in_two_real_seconds(
    tmp_path: Path, stamped: StampedReceiver
) -> None:
    server = started(tmp_path, "--clock-scale", "60")  # the default schedule: 2 minutes
    try:
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=30) as client:
            assert client.get("/_sandbox/clock").json()["scale"] == 60.0
            order_id = complete_order(client, stamped.url)
            completed_at = time.monotonic()
            assert wait_for(lambda: len(stamped.calls("/push")) >= 1, timeout=6)
            waited = stamped.calls("/push")[0].monotonic - completed_at
            assert 1.5 <= waited <= 4.0, waited
            assert stamped.calls("/push")[0].order_id == order_id
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("persona", "event", "fraud_status", "status"),
    [
        ("p+pend-accept-01@example.com", "FRAUD_RISK_ACCEPTED", "ACCEPTED", "AUTHORIZED"),
        ("p+pend-reject-01@example.com", "FRAUD_RISK_REJECTED", "REJECTED", "CANCELLED"),
    ],
)
def test_a_pending_decision_is_notified_and_followed(
    live_server: LiveServer,
    stamped: StampedReceiver,
    persona: str,
    event: str,
    fraud_status: str,
    status: str,
) -> None:
    with httpx.Client(base_url=live_server.url, auth=AUTH, timeout=30) as client:
        order_id = complete_order(client, stamped.url, email=persona)
        pending = client.get(f"{OM}/{order_id}").json()
        assert pending["fraud_status"] == "PENDING"
        assert advance(client, 60)["attempted"] == 1  # the decision falls due after one minute
        assert wait_for(lambda: len(stamped.calls("/notify")) >= 1, timeout=10)
        [note] = stamped.calls("/notify")
        assert json.loads(note.body) == {"order_id": order_id, "event_type": event}
        order = client.get(f"{OM}/{order_id}").json()
        assert (order["fraud_status"], order["status"]) == (fraud_status, status)
        advance(client, 60)  # two minutes after the purchase: the first push
        assert wait_for(lambda: len(stamped.calls("/push")) >= 1, timeout=10)
        assert {a.order_id for a in stamped.calls("/push")} == {order_id}
        assert len(stamped.calls("/notify")) == 1  # delivered (200): not sent again
        capture = client.post(
            f"{OM}/{order_id}/captures", json={"captured_amount": order["order_amount"]}
        )
        if fraud_status == "ACCEPTED":
            assert capture.status_code == 201, capture.text
            assert client.get(f"{OM}/{order_id}").json()["status"] == "CAPTURED"
        else:
            assert capture.status_code == 403, capture.text


def test_clock_callbacks_and_orders_commands(
    live_server: LiveServer, stamped: StampedReceiver
) -> None:
    folder = live_server.folder
    database = ("--database-url", live_server.database_url)
    merchant = (
        "--url",
        live_server.url,
        "--merchant",
        f"{MERCHANT.merchant_id}:{MERCHANT.api_key}",
    )
    with httpx.Client(base_url=live_server.url, auth=AUTH, timeout=30) as client:
        order_id = complete_order(client, stamped.url)

    queued = cli("callbacks", "list", *database, cwd=folder)
    assert queued.returncode == 0, queued.stderr
    [line] = [row for row in queued.stdout.splitlines() if f"order={order_id}" in row]
    assert line.split()[1:3] == ["push", "pending"]
    assert "attempts=0" in line

    moved = cli("clock", "advance", "2m", *merchant, *database, cwd=folder)
    assert moved.returncode == 0, moved.stderr
    answer = json.loads(moved.stdout)
    assert set(answer) == {"now", "attempted"}
    assert answer["attempted"] == 1  # the advance answers once the push that fell due was sent
    assert wait_for(lambda: len(stamped.calls("/push")) == 1, timeout=10)

    shown = cli("clock", "show", *merchant, *database, cwd=folder)
    assert shown.returncode == 0, shown.stderr
    clock = json.loads(shown.stdout)
    assert clock["offset_seconds"] >= 120
    assert clock["scale"] == 1.0
    # Without --merchant the first stored merchant signs in.
    assert cli("clock", "show", "--url", live_server.url, *database, cwd=folder).returncode == 0

    listed = cli("callbacks", "list", *database, "--order", order_id, cwd=folder)
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    assert line.split()[1:3] == ["push", "pending"]  # pending its next attempt
    assert "attempts=1" in line

    order = cli("orders", "show", order_id, *database, cwd=folder)
    assert order.returncode == 0, order.stderr
    printed = json.loads(order.stdout)
    assert printed["order_id"] == order_id
    assert printed["checkout_status"] == "checkout_complete"
    assert printed["order_management"]["fraud_status"] == "ACCEPTED"
    [callback] = printed["callbacks"]
    assert (callback["kind"], callback["status"], callback["attempts"]) == ("push", "pending", 1)
    kinds = [e["kind"] for e in printed["events"]]
    assert "purchase.completed" in kinds
    [attempt] = [e for e in printed["events"] if e["kind"] == "push.attempt"]
    assert attempt["status"] == 200
    assert attempt["callback_id"] == callback["callback_id"]
    assert attempt["url"] == f"{stamped.url}/push?order={order_id}"

    missing = cli("orders", "show", "no-such-order", *database, cwd=folder)
    assert missing.returncode == 1
    assert "no order no-such-order" in missing.stderr

    bad = cli("clock", "advance", "2 weeks", *merchant, *database, cwd=folder)
    assert bad.returncode == 2
    assert "expected a duration" in bad.stderr
