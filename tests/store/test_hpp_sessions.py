"""HPP sessions in storage, on both engines: a session round-trips; a status change writes only
over the version it read, with its callback and timeline event or not at all; completing a
checkout completes its open sessions in the same transaction, or leaves them as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, func, select
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.domain.delivery import CallbackKind
from kco_sandbox.domain.hpp import (
    HppAction,
    HppMerchantUrls,
    HppOptions,
    HppStatus,
    SessionRequest,
    new_session,
)
from kco_sandbox.services.retention import RetentionService
from kco_sandbox.store import Store
from kco_sandbox.store.tables import callbacks, hpp_distributions, hpp_sessions, order_events
from tests.factories import MERCHANT, make_order
from tests.store.test_completion_atomicity import allow_inserts, refuse_inserts

NOW = datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)
URLS = HppMerchantUrls(success="https://s/ok", status_update="https://s/cb?id={{session_id}}")


def stored_session(store: Store, session_id: str = "s-1", order_id: str = "o-1") -> None:
    store.merchants.put(MERCHANT, NOW)
    request = SessionRequest(
        payment_session_url=f"/checkout/v3/orders/{order_id}",
        merchant_urls=URLS,
        options=HppOptions(page_title="Pay", purchase_type="BUY"),
    )
    made = new_session(
        session_id, MERCHANT.merchant_id, order_id, NOW + timedelta(hours=48), request, NOW
    )
    store.hpp.add(made)


def count(store: Store, table: Table, order_id: str) -> int:
    with store.engine.connect() as conn:
        query = select(func.count()).select_from(table).where(table.c.order_id == order_id)
        return int(conn.execute(query).scalar() or 0)


def test_a_session_round_trips_by_id_and_short_id(store: Store) -> None:
    stored_session(store)
    found = store.hpp.get("s-1")
    assert found is not None
    assert found.merchant_urls == URLS
    assert found.options.purchase_type == "BUY"
    assert (found.status, found.created_at, found.expires_at) == (
        HppStatus.WAITING,
        NOW,
        NOW + timedelta(hours=47),
    )
    assert store.hpp.by_short_id(found.short_id) == found
    assert store.hpp.get("nope") is None
    assert store.hpp.get("bad\x00id") is None
    assert count(store, order_events, "o-1") == 1  # hpp.created


def test_a_change_over_a_stale_version_writes_nothing(store: Store) -> None:
    stored_session(store)
    session = store.hpp.get("s-1")
    assert session is not None
    opened = session.moved(HppAction.OPEN, NOW + timedelta(seconds=1))
    assert opened is not None
    assert store.hpp.save(session, opened, "shopper: open")
    cancelled = session.moved(HppAction.ERROR, NOW + timedelta(seconds=2))
    assert cancelled is not None
    assert not store.hpp.save(session, cancelled, "stale")
    again = store.hpp.get("s-1")
    assert again is not None
    assert (again.status, again.version) == (HppStatus.IN_PROGRESS, 2)
    with store.engine.connect() as conn:
        rows = conn.execute(select(callbacks.c.kind, callbacks.c.target, callbacks.c.url)).all()
    assert [tuple(row) for row in rows] == [
        (CallbackKind.HPP_STATUS.value, "s-1", "https://s/cb?id=s-1")
    ]


def test_distributions_count_per_merchant_method_and_day(store: Store) -> None:
    stored_session(store)
    session = store.hpp.get("s-1")
    assert session is not None
    for minutes in (0, 10, 20):
        store.hpp.record_distribution(session, "email", NOW + timedelta(minutes=minutes), {})
    store.hpp.record_distribution(session, "sms", NOW, {})
    assert store.hpp.distributions_since(MERCHANT.merchant_id, "email", NOW - timedelta(1)) == 3
    assert (
        store.hpp.distributions_since(MERCHANT.merchant_id, "email", NOW + timedelta(minutes=5))
        == 2
    )
    assert store.hpp.distributions_since(MERCHANT.merchant_id, "sms", NOW - timedelta(1)) == 1
    assert store.hpp.distributions_since("other", "email", NOW - timedelta(1)) == 0


def test_a_completion_that_cannot_be_stored_leaves_the_session_as_it_was(
    store: Store, app_client: TestClient
) -> None:
    created = app_client.post("/checkout/v3/orders", json=make_order())
    order_id = created.json()["order_id"]
    session = app_client.post(
        "/hpp/v1/sessions",
        json={
            "payment_session_url": f"/checkout/v3/orders/{order_id}",
            "merchant_urls": {"status_update": "https://s/cb"},
        },
    ).json()
    refuse_inserts(store, "om_orders")
    try:
        failed = app_client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    finally:
        allow_inserts(store, "om_orders")
    assert failed.status_code == 500
    read = app_client.get(f"/hpp/v1/sessions/{session['session_id']}").json()
    assert read["status"] == "WAITING"
    assert count(store, callbacks, order_id) == 0
    done = app_client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    assert done.status_code == 200
    with store.engine.connect() as conn:
        status = conn.execute(select(hpp_sessions.c.status)).scalar()
        kinds = conn.execute(select(callbacks.c.kind).where(callbacks.c.order_id == order_id))
        assert sorted(kinds.scalars()) == ["hpp_status", "push"]
    assert status == "COMPLETED"


def test_retention_deletes_sessions_and_distributions_with_their_order(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    created = client.post("/checkout/v3/orders", json=make_order())
    order_id = created.json()["order_id"]
    session = client.post(
        "/hpp/v1/sessions", json={"payment_session_url": f"/checkout/v3/orders/{order_id}"}
    ).json()
    distributed = client.post(
        f"/hpp/v1/sessions/{session['session_id']}/distribution",
        json={"method": "email", "contact_information": {"email": "anna@example.com"}},
    )
    assert distributed.status_code == 204
    assert count(store, hpp_distributions, order_id) == 1
    retention = RetentionService(store, 30, lambda _m: clock.now())
    clock.advance(timedelta(days=32, minutes=1))  # 30 days after the order expired (48 h on)
    assert retention.prune().orders == 1
    assert count(store, hpp_sessions, order_id) == 0
    assert count(store, hpp_distributions, order_id) == 0
