"""One merchant's synchronous callbacks take at most `slots` at once; others are not held up.

Real threads call the real edge, which calls a real, slow receiver.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from kco_sandbox.outbound.merchant_http import MerchantHttp
from tests.receiver import Receiver, Reply

DELAY = 0.4


def test_one_merchants_calls_wait_for_a_slot_and_another_merchant_does_not(
    receiver: Receiver,
) -> None:
    receiver.on("/slow", Reply(200, delay=DELAY))

    def call_a(_: int) -> int | None:
        return http.post(receiver.url + "/slow", b"{}", 10, merchant_id="a").answer.status

    with MerchantHttp(slots=2) as http, ThreadPoolExecutor(max_workers=6) as pool:
        started = time.monotonic()
        results = pool.map(call_a, range(6))
        time.sleep(DELAY / 2)  # merchant A's calls are queued now
        b = http.post(receiver.url + "/fast", b"{}", 10, merchant_id="b")
        b_done = time.monotonic() - started
        assert list(results) == [200] * 6
        elapsed = time.monotonic() - started
    assert b.answer.status == 200
    assert b_done < DELAY * 2  # not behind A's queue
    assert elapsed >= DELAY * 3 * 0.9  # 6 calls, 2 at a time: three rounds
    assert len(receiver.calls("/slow")) == 6


def test_a_call_that_waits_longer_than_its_time_out_for_a_slot_is_a_time_out(
    receiver: Receiver,
) -> None:
    receiver.on("/slow", Reply(200, delay=1.0))
    with MerchantHttp(slots=1) as http, ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(http.post, receiver.url + "/slow", b"", 5, "a")
        time.sleep(0.2)
        second = http.post(receiver.url + "/slow", b"", 0.3, merchant_id="a")
        assert first.result().answer.status == 200
    assert second.answer.timed_out
    assert (
        second.answer.error == "no answer within 0.3 s (1 calls to this merchant already in flight)"
    )
    assert len(receiver.calls("/slow")) == 1
