"""The same store tests on SQLite and PostgreSQL (the `store` fixture runs each on both)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import msgspec

from kco_sandbox.clock import FrozenClock, MerchantClocks
from kco_sandbox.domain.checkout.record import CheckoutRecord, build_order, new_record
from kco_sandbox.domain.market import VENDOR_MARKETS
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import new_uuid
from kco_sandbox.services.checkout import CheckoutService
from kco_sandbox.store import Store
from tests.factories import MERCHANT, make_order

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)


def a_record(order_id: str | None = None) -> CheckoutRecord:
    order = build_order({}, make_order(), VENDOR_MARKETS, True)
    return new_record(order_id or new_uuid(), MERCHANT.merchant_id, order, NOW)


def test_migrations_leave_the_schema_current(store: Store) -> None:
    assert store.is_current()


def test_merchants_are_inserted_then_replaced(store: Store) -> None:
    store.merchants.put(MERCHANT, NOW)
    changed = Merchant(MERCHANT.merchant_id, "new-key", "Renamed", ("SE", "NO"))
    store.merchants.put(changed, NOW)
    assert store.merchants.list() == [changed]


def test_orders_round_trip_with_aware_utc_times(store: Store) -> None:
    store.merchants.put(MERCHANT, NOW)
    record = a_record()
    store.checkouts.add(record)
    loaded = store.checkouts.get(record.order_id)
    assert loaded == record
    assert loaded is not None
    assert loaded.started_at.tzinfo is not None


def test_unknown_order_is_none(store: Store) -> None:
    assert store.checkouts.get(new_uuid()) is None


def test_save_refuses_a_stale_version(store: Store) -> None:
    store.merchants.put(MERCHANT, NOW)
    record = a_record()
    store.checkouts.add(record)
    first = record.aborted(NOW + timedelta(minutes=1))
    assert store.checkouts.save(first, expected_version=1)
    assert not store.checkouts.save(first, expected_version=1)
    loaded = store.checkouts.get(record.order_id)
    assert loaded == first


def test_concurrent_updates_never_lose_a_write(store: Store) -> None:
    """Many threads each set their own line reference; every write lands, in some order."""
    store.merchants.put(MERCHANT, NOW)
    service = CheckoutService(store=store, clock=MerchantClocks(FrozenClock(NOW)), new_id=new_uuid)
    created = service.create_order(MERCHANT, make_order(merchant_data=""))
    writers, rounds = 8, 10
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for r in range(rounds):
                # Read-modify-write through the service: append a token to merchant_data.
                for _ in range(1000):
                    current = service.read_order(MERCHANT, created.order_id)
                    data = (current.order.merchant_data or "") + f"{n}.{r};"
                    order = msgspec.structs.replace(current.order, merchant_data=data)
                    if store.checkouts.save(
                        current.with_order(order, NOW), expected_version=current.version
                    ):
                        break
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = service.read_order(MERCHANT, created.order_id)
    tokens = (final.order.merchant_data or "").rstrip(";").split(";")
    assert sorted(tokens) == sorted(f"{n}.{r}" for n in range(writers) for r in range(rounds))
    assert final.version == 1 + writers * rounds
