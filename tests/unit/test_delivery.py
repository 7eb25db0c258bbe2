"""Delivery's pure rules and its edges, without a database: the schedules as tables, the decision
after an attempt, how faults are used up, the merchant HTTP edge (over `httpx.MockTransport`) and
the worker loop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from kco_sandbox import __version__
from kco_sandbox.domain import faults
from kco_sandbox.domain.delivery import (
    HPP_STATUS_SCHEDULE,
    NOTIFICATION_SCHEDULE,
    PUSH_SCHEDULE,
    WEBHOOK_SCHEDULE,
    Attempt,
    Callback,
    CallbackKind,
    CallbackStatus,
    Delivery,
    Next,
    Schedule,
)
from kco_sandbox.domain.faults import Faults, Taken
from kco_sandbox.outbound.merchant_http import MAX_BODY, MerchantHttp
from kco_sandbox.outbound.worker import Worker

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LAST_PUSH = 15  # 2 + 5 + 15 + 30 + 60 minutes, then every 4 hours up to 45 h 52 min
LAST_NOTIFICATION = 15  # 0 + 1 + 5 + 15 + 60 minutes, then every 4 hours up to 45 h 21 min


@pytest.mark.parametrize(
    ("attempt", "minutes"),
    [
        (0, 2),
        (1, 7),
        (2, 22),
        (3, 52),
        (4, 112),
        (5, 352),
        (6, 592),
        (7, 832),
        (8, 1072),
        (9, 1312),
        (10, 1552),
        (11, 1792),
        (12, 2032),
        (13, 2272),
        (14, 2512),
        (LAST_PUSH, 2752),
        (LAST_PUSH + 1, None),  # 49 h 52 min: past the 48-hour window
        (100, None),
    ],
)
def test_the_push_schedule(attempt: int, minutes: int | None) -> None:
    expected = START + timedelta(minutes=minutes) if minutes is not None else None
    assert PUSH_SCHEDULE.attempt_at(START, attempt) == expected


@pytest.mark.parametrize(
    ("attempt", "minutes"),
    [
        (0, 0),  # at once when the decision falls due
        (1, 1),
        (2, 6),
        (3, 21),
        (4, 81),
        (5, 321),
        (6, 561),
        (10, 1521),
        (14, 2481),
        (LAST_NOTIFICATION, 2721),
        (LAST_NOTIFICATION + 1, None),
    ],
)
def test_the_notification_schedule(attempt: int, minutes: int | None) -> None:
    expected = START + timedelta(minutes=minutes) if minutes is not None else None
    assert NOTIFICATION_SCHEDULE.attempt_at(START, attempt) == expected


def test_an_hpp_status_update_is_called_four_times_at_most() -> None:
    # At once, then 5, 10 and 20 seconds after the call before: the vendor's "up to 3 retries".
    attempts = [HPP_STATUS_SCHEDULE.attempt_at(START, n) for n in range(6)]
    assert attempts == [START + timedelta(seconds=s) for s in (0, 5, 15, 35)] + [None, None]


def test_a_webhook_follows_the_standard_webhooks_schedule() -> None:
    # At once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after the call before.
    seconds = (0, 5, 305, 2105, 9305, 27305, 63305, 99305)
    attempts = [WEBHOOK_SCHEDULE.attempt_at(START, n) for n in range(10)]
    assert attempts == [START + timedelta(seconds=s) for s in seconds] + [None, None]


def test_each_kind_waits_its_own_time_for_an_answer() -> None:
    delivery = Delivery(timeout=7.0)
    assert delivery.timeout_for(CallbackKind.PUSH) == 7.0
    assert delivery.timeout_for(CallbackKind.NOTIFICATION) == 7.0
    assert delivery.timeout_for(CallbackKind.HPP_STATUS) == 3.0
    assert delivery.timeout_for(CallbackKind.WEBHOOK) == 15.0
    assert delivery.longest_timeout == 15.0


def test_the_window_includes_its_last_instant() -> None:
    schedule = Schedule(gaps=(60,), window=timedelta(minutes=3))
    attempts = [schedule.attempt_at(START, n) for n in range(5)]
    assert attempts == [START + timedelta(minutes=m) for m in (1, 2, 3)] + [None, None]
    with pytest.raises(ValueError, match="count from 0"):
        schedule.attempt_at(START, -1)


def callback(kind: CallbackKind, attempts: int = 0) -> Callback:
    schedule = Delivery().schedule_for(kind)
    return Callback(
        callback_id="c",
        order_id="o",
        merchant_id="m",
        kind=kind,
        url="http://merchant.test/cb",
        body=b"",
        starts_at=START,
        next_attempt_at=schedule.attempt_at(START, attempts),
        attempts=attempts,
    )


def answered(status: int | None) -> Attempt:
    return Attempt(START, status, 1.0, None if status else "ConnectError: refused")


PUSH, NOTE = CallbackKind.PUSH, CallbackKind.NOTIFICATION
HPP, HOOK = CallbackKind.HPP_STATUS, CallbackKind.WEBHOOK
PENDING, DELIVERED, EXPIRED, STOPPED = (
    CallbackStatus.PENDING,
    CallbackStatus.DELIVERED,
    CallbackStatus.EXPIRED,
    CallbackStatus.STOPPED,
)


@pytest.mark.parametrize(
    ("kind", "attempts", "status", "expected"),
    [
        # A push keeps its schedule whatever the answer: only acknowledging stops it.
        (PUSH, 0, 200, Next(PENDING, START + timedelta(minutes=7))),
        (PUSH, 0, 500, Next(PENDING, START + timedelta(minutes=7))),
        (PUSH, 0, None, Next(PENDING, START + timedelta(minutes=7))),
        (PUSH, 4, 204, Next(PENDING, START + timedelta(minutes=352))),
        (PUSH, LAST_PUSH, 200, Next(EXPIRED, None)),
        # A notification the merchant took (2xx) is delivered; anything else is tried again.
        (NOTE, 0, 200, Next(DELIVERED, None)),
        (NOTE, 3, 299, Next(DELIVERED, None)),
        (NOTE, 0, 302, Next(PENDING, START + timedelta(minutes=1))),
        (NOTE, 0, 404, Next(PENDING, START + timedelta(minutes=1))),
        (NOTE, 1, 503, Next(PENDING, START + timedelta(minutes=6))),
        (NOTE, 1, None, Next(PENDING, START + timedelta(minutes=6))),
        (NOTE, LAST_NOTIFICATION, 500, Next(EXPIRED, None)),
        (NOTE, LAST_NOTIFICATION, 200, Next(DELIVERED, None)),
        # An HPP status update: 2xx delivers; anything else is retried three times, then given up.
        (HPP, 0, 204, Next(DELIVERED, None)),
        (HPP, 0, 500, Next(PENDING, START + timedelta(seconds=5))),
        (HPP, 2, None, Next(PENDING, START + timedelta(seconds=35))),
        (HPP, 3, 500, Next(EXPIRED, None)),
        # A webhook: 2xx delivers, 410 stops for good, anything else keeps to the schedule.
        (HOOK, 0, 200, Next(DELIVERED, None)),
        (HOOK, 0, 410, Next(STOPPED, None)),
        (HOOK, 0, 404, Next(PENDING, START + timedelta(seconds=5))),
        (HOOK, 1, None, Next(PENDING, START + timedelta(seconds=305))),
        (HOOK, 7, 503, Next(EXPIRED, None)),
    ],
)
def test_where_a_callback_stands_after_an_attempt(
    kind: CallbackKind, attempts: int, status: int | None, expected: Next
) -> None:
    assert Delivery().after(callback(kind, attempts), answered(status)) == expected


@pytest.mark.parametrize(
    ("stored", "taken", "left"),
    [
        (Faults(), Taken(), Faults()),
        (Faults(drop=2), Taken(drop=True), Faults(drop=1)),
        # A dropped attempt never got as far as timing out: the time-out waits for the next one.
        (Faults(drop=1, timeout=1), Taken(drop=True), Faults(timeout=1)),
        (Faults(timeout=1), Taken(timeout=True), Faults()),
        # A duplicate is used up by the callback it doubles, whatever its first send did.
        (Faults(drop=1, duplicate=2), Taken(drop=True, duplicate=True), Faults(duplicate=1)),
        # The delay stays until cleared.
        (Faults(delay_ms=250), Taken(delay_ms=250), Faults(delay_ms=250)),
        (
            Faults(timeout=3, duplicate=1, delay_ms=5),
            Taken(timeout=True, duplicate=True, delay_ms=5),
            Faults(timeout=2, delay_ms=5),
        ),
    ],
)
def test_how_faults_are_used_up(stored: Faults, taken: Taken, left: Faults) -> None:
    assert faults.take(stored) == (taken, left)


def test_what_the_faults_do_to_an_attempt() -> None:
    assert Taken().error is None
    assert Taken(drop=True, timeout=True).error == "dropped (fault injection)"
    assert Taken(timeout=True).error == "timed out (fault injection)"
    # The duplicate's second send is sent as it is, after the same delay.
    assert Taken(drop=True, duplicate=True, delay_ms=7).second_send() == Taken(delay_ms=7)


# The merchant HTTP edge, with the network replaced by `httpx.MockTransport`.


def edge(handler: httpx.MockTransport) -> MerchantHttp:
    return MerchantHttp(httpx.Client(transport=handler, follow_redirects=False))


def test_the_edge_sends_one_user_agent_and_json_only_with_a_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"ok": True}, headers={"Location": "/there"})

    http = edge(httpx.MockTransport(handler))
    call = http.post("http://merchant.test/validate", b'{"a": 1}', 3.0)
    assert (call.answer.status, call.answer.body) == (201, b'{"ok":true}')
    assert call.answer.location == "/there"
    assert call.duration_ms >= 0
    http.post("http://merchant.test/push", b"", 3.0)
    with_body, without_body = seen
    assert with_body.headers["User-Agent"] == without_body.headers["User-Agent"]
    assert with_body.headers["User-Agent"] == f"kco-sandbox/{__version__}"
    assert with_body.headers["Content-Type"] == "application/json"
    assert with_body.content == b'{"a": 1}'
    assert "Content-Type" not in without_body.headers
    assert without_body.content == b""


def test_the_edge_reads_at_most_max_body_bytes() -> None:
    http = edge(httpx.MockTransport(lambda _: httpx.Response(200, content=b"x" * (MAX_BODY + 10))))
    assert http.post("http://merchant.test/cb", b"{}", 3.0).answer.body == b"x" * MAX_BODY


@pytest.mark.parametrize(
    ("error", "timed_out", "text"),
    [
        (httpx.ReadTimeout("read timed out"), True, "no answer within 2.5 s"),
        (httpx.ConnectTimeout("connect timed out"), True, "no answer within 2.5 s"),
        (httpx.ConnectError("[Errno 111] refused"), False, "ConnectError: [Errno 111] refused"),
        (
            httpx.RemoteProtocolError("peer closed"),
            False,
            "RemoteProtocolError: peer closed",
        ),
    ],
)
def test_the_edge_describes_no_answer(error: httpx.HTTPError, timed_out: bool, text: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    answer = edge(httpx.MockTransport(handler)).post("http://merchant.test/cb", b"{}", 2.5).answer
    assert (answer.status, answer.timed_out, answer.error) == (None, timed_out, text)


# The worker loop runs whatever round it is given.


def test_the_worker_survives_a_database_error_and_stops() -> None:
    rounds: list[str] = []
    done = threading.Event()

    def run_round() -> float:
        rounds.append("round")
        if len(rounds) == 1:
            raise OperationalError("SELECT 1", {}, Exception("the database restarted"))
        if len(rounds) == 3:
            done.set()
        return 0.01

    worker = Worker(run_round, poll=0.01)
    worker.start()
    assert done.wait(5), rounds
    worker.stop(timeout=5)
    stopped_at = len(rounds)
    assert stopped_at >= 3
    threading.Event().wait(0.1)
    assert len(rounds) == stopped_at  # stopped: no more rounds


def test_the_worker_waits_the_pause_its_round_asks_for() -> None:
    calls: list[float] = []

    def run_round() -> float:
        calls.append(30.0)
        return 30.0

    worker = Worker(run_round, poll=0.01)
    worker.start()
    threading.Event().wait(0.2)  # a 30-second pause: one round only
    worker.stop(timeout=5)
    assert len(calls) == 1
