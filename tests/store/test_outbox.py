"""The outbox's claims on both engines: what is due is claimed, once per lease, in due order.

Platform time (`now`: what is due) and wall-clock time (`wall`: how long a claim holds) are given
to `claim_due` explicitly, so a lease running out needs no waiting.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from kco_sandbox.domain.delivery import Attempt, Callback, CallbackKind, CallbackStatus
from kco_sandbox.store import Store

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WALL = datetime(2030, 6, 1, 8, 0, tzinfo=UTC)  # wall-clock time is not platform time
LEASE = timedelta(seconds=15)


def queue(
    store: Store,
    callback_id: str,
    due: datetime | None,
    status: CallbackStatus = CallbackStatus.PENDING,
    kind: CallbackKind = CallbackKind.PUSH,
) -> Callback:
    callback = Callback(
        callback_id=callback_id,
        order_id=f"order-{callback_id}",
        merchant_id="merchant",
        kind=kind,
        url="http://merchant.test/push",
        body=b"",
        starts_at=NOW - timedelta(hours=1),
        next_attempt_at=due,
        status=status,
    )
    store.outbox.enqueue(callback, NOW)
    return callback


def claimed_ids(store: Store, wall: datetime = WALL, limit: int = 50) -> list[str]:
    return [c.callback_id for c in store.outbox.claim_due(NOW, wall, LEASE, limit)]


def test_only_pending_callbacks_that_are_due_are_claimed(store: Store) -> None:
    queue(store, "past", NOW - timedelta(minutes=5))
    queue(store, "now", NOW)
    queue(store, "later", NOW + timedelta(seconds=1))
    queue(store, "delivered", NOW - timedelta(minutes=5), CallbackStatus.DELIVERED)
    queue(store, "stopped", NOW - timedelta(minutes=5), CallbackStatus.STOPPED)
    queue(store, "expired", None, CallbackStatus.EXPIRED)
    claimed = store.outbox.claim_due(NOW, WALL, LEASE, 50)
    assert [c.callback_id for c in claimed] == ["past", "now"]
    # The claim hands back the callback as queued: its request and where it stands.
    first = claimed[0]
    assert (first.kind, first.url, first.body, first.attempts) == (
        CallbackKind.PUSH,
        "http://merchant.test/push",
        b"",
        0,
    )
    assert first.next_attempt_at == NOW - timedelta(minutes=5)
    assert first.starts_at == NOW - timedelta(hours=1)


def test_a_claim_holds_for_its_lease_of_wall_clock_time(store: Store) -> None:
    queue(store, "a", NOW)
    assert claimed_ids(store) == ["a"]
    assert claimed_ids(store) == []
    assert claimed_ids(store, WALL + LEASE - timedelta(milliseconds=1)) == []
    # Platform time moving on frees nothing: another worker may still be sending it.
    assert store.outbox.claim_due(NOW + timedelta(days=3), WALL, LEASE, 50) == []
    # Once the lease is over (a worker that died mid-attempt), the callback is claimed again.
    assert claimed_ids(store, WALL + LEASE + timedelta(milliseconds=1)) == ["a"]


def test_recording_the_attempt_releases_the_claim(store: Store) -> None:
    callback = queue(store, "a", NOW)
    assert claimed_ids(store) == ["a"]
    attempt = Attempt(NOW, 500, 3.0, None)
    store.outbox.record(callback, [attempt], CallbackStatus.PENDING, NOW)  # due again at once
    [again] = store.outbox.claim_due(NOW, WALL, LEASE, 50)
    assert again.attempts == 1
    store.outbox.record(again, [], CallbackStatus.STOPPED, None)
    assert claimed_ids(store, WALL + LEASE * 2) == []
    assert [(a["status"], a["error"]) for a in store.outbox.attempts_for("order-a")] == [
        (500, None)
    ]


def test_claims_take_the_earliest_due_first_up_to_the_limit(store: Store) -> None:
    for minutes in (3, 1, 5, 2, 4):  # queued out of due order
        queue(store, f"due-{minutes}", NOW - timedelta(minutes=10 - minutes))
    assert claimed_ids(store, limit=2) == ["due-1", "due-2"]
    assert claimed_ids(store, limit=2) == ["due-3", "due-4"]
    assert claimed_ids(store, limit=2) == ["due-5"]
    assert claimed_ids(store, limit=2) == []


def test_two_claimers_at_once_never_get_the_same_callback(store: Store) -> None:
    total = 120
    for n in range(total):
        queue(store, f"cb-{n:03d}", NOW - timedelta(seconds=n))
    start = threading.Barrier(4)
    taken: list[list[str]] = [[] for _ in range(4)]
    failures: list[BaseException] = []

    def claimer(index: int) -> None:
        try:
            start.wait(timeout=10)
            while batch := claimed_ids(store, limit=7):
                taken[index].extend(batch)
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    every = Counter(callback_id for batch in taken for callback_id in batch)
    assert len(every) == total
    assert set(every.values()) == {1}, every.most_common(3)


def test_each_kind_is_held_for_its_own_lease(store: Store) -> None:
    queue(store, "push", NOW)
    queue(store, "hook", NOW, kind=CallbackKind.WEBHOOK)
    leases = {CallbackKind.PUSH: timedelta(seconds=15), CallbackKind.WEBHOOK: timedelta(seconds=20)}
    assert len(store.outbox.claim_due(NOW, WALL, leases, 50)) == 2
    # The push is free again after its own lease; the webhook is held five seconds more.
    later = [
        c.callback_id for c in store.outbox.claim_due(NOW, WALL + timedelta(seconds=16), leases, 50)
    ]
    assert later == ["push"]
    last = store.outbox.claim_due(NOW, WALL + timedelta(seconds=21), leases, 50)
    assert [c.callback_id for c in last] == ["hook"]  # the push is held by its second claim
