"""The whole 48-hour push schedule, walked against a live `kco-sandbox serve` (SQLite).

A real server (its delivery worker running) completes an order whose push goes to a real
receiver answering 500 (any answer counts as delivered for that attempt, so the schedule goes on).
The clock is moved in coarse steps: to half a minute before each attempt the schedule names
(nothing new may arrive) and then to half a minute after it (exactly one push must arrive), so
every attempt is seen to happen within its minute; then past the 48-hour window, when the push
has expired. The schedule's numbers as a table are `tests/unit/test_delivery.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx

from kco_sandbox.store import Store
from tests.callback_support import AUTH, advance, complete_order
from tests.factories import MERCHANT
from tests.live import LiveServer
from tests.receiver import Receiver, Reply

# Minutes after completion: 2, then 5, 15, 30 and 60 minutes apart, then every 4 hours.
PUSH_MINUTES = [2, 7, 22, 52, 112, 352, 592, 832, 1072, 1312, 1552, 1792, 2032, 2272, 2512, 2752]
MARGIN = timedelta(seconds=30)
SLACK = timedelta(seconds=10)  # real time passing on the live server's clock during the walk


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_whole_48_hour_push_schedule_to_the_minute(tmp_path: Path) -> None:
    with Receiver().running() as receiver:
        receiver.on("/push", Reply(500))
        server = LiveServer(tmp_path, merchants=[MERCHANT])
        server.start()
        try:
            with httpx.Client(base_url=server.url, auth=AUTH, timeout=60) as client:
                order_id = complete_order(client, receiver.url)
                events = client.get(f"/_sandbox/orders/{order_id}/events").json()["events"]
                completed = at(next(e["at"] for e in events if e["kind"] == "purchase.completed"))
                now = at(client.get("/_sandbox/clock").json()["now"])

                def step_to(target: datetime) -> int:
                    nonlocal now
                    moved = advance(client, max((target - now).total_seconds(), 0))
                    now = at(moved["now"])
                    attempted: int = moved["attempted"]
                    return attempted

                for n, minute in enumerate(PUSH_MINUTES):
                    due = completed + timedelta(minutes=minute)
                    assert step_to(due - MARGIN) == 0, f"attempt {n} came early"
                    assert len(receiver.calls("/push")) == n
                    assert step_to(due + MARGIN) == 1, f"attempt {n} did not come at {minute} min"
                    assert len(receiver.calls("/push")) == n + 1
                # The next attempt would be at 49 h 52 min: past the window, the push expires.
                assert step_to(completed + timedelta(hours=52)) == 0
                assert len(receiver.calls("/push")) == len(PUSH_MINUTES)

                events = client.get(f"/_sandbox/orders/{order_id}/events").json()["events"]
            attempts = [e for e in events if e["kind"] == "push.attempt"]
            assert [a["status"] for a in attempts] == [500] * len(PUSH_MINUTES)
            # Each was sent when the clock had moved past it: never before it was due, and
            # within the step that made it due (plus the real time the walk took).
            for attempt, minute in zip(attempts, PUSH_MINUTES, strict=True):
                offset = at(attempt["at"]) - (completed + timedelta(minutes=minute))
                assert timedelta(0) <= offset <= MARGIN + SLACK, (minute, attempt["at"])
            pushes = receiver.calls("/push")
            assert {p.path for p in pushes} == {f"/push?order={order_id}"}
            assert all(p.method == "POST" and p.body == b"" for p in pushes)
            store = Store.for_url(server.database_url, migrate=False)
            try:
                [row] = store.outbox.list_callbacks(order_id)
            finally:
                store.close()
            assert (row["status"], row["attempts"]) == ("expired", len(PUSH_MINUTES))
        finally:
            server.stop()
