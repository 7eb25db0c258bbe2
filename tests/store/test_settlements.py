"""Settlement storage on both engines: concurrent readers settle a cut-off once, a run is all or
nothing, a capture whose commit raced a run is paid by the next payout, retention keeps each
currency's latest payout, and the tables are exactly what migration 0013 creates."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from kco_sandbox.clock import FrozenClock, MerchantClocks
from kco_sandbox.domain.order_management.order import Capture, OmOrder, Refund
from kco_sandbox.domain.settlements.ledger import FeeRate, PayoutDraft, Source, plan
from kco_sandbox.domain.settlements.schedule import Schedule
from kco_sandbox.services.retention import RetentionService
from kco_sandbox.services.settlements import SettlementService
from kco_sandbox.store import Store
from kco_sandbox.store.orders import Change
from kco_sandbox.store.settlements import AlreadySettled, Planner
from kco_sandbox.store.tables import metadata, settlement_payouts, settlement_transactions
from tests.factories import MERCHANT

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SCHEDULE = Schedule.parse()
FIRST_CUTOFF = datetime(2026, 1, 1, 22, 59, tzinfo=UTC)


def open_captured(
    store: Store, order_id: str, amount: int, at: datetime, currency: str = "SEK"
) -> OmOrder:
    """An Order Management order opened with one capture of `amount` at `at`."""
    capture = Capture(
        capture_id=f"cap-{order_id}",
        klarna_reference="KREF1234",
        captured_amount=amount,
        captured_at=at,
    )
    order = OmOrder(
        order_id=order_id,
        merchant_id=MERCHANT.merchant_id,
        klarna_reference="KREF1234",
        purchase_country="SE",
        purchase_currency=currency,
        locale="sv-SE",
        order_amount=amount,
        original_order_amount=amount,
        order_lines=[],
        created_at=at,
        expires_at=at + timedelta(days=28),
        fraud_status="ACCEPTED",
        captured_amount=amount,
        capture_count=1,
        ledger_changed_at=at,
        opening_capture=capture,
    )
    with store.db.write() as conn:
        store.orders.open_on(conn, order)
    return msgspec.structs.replace(order, opening_capture=None)


def add_refund(store: Store, order: OmOrder, amount: int, at: datetime) -> None:
    after = msgspec.structs.replace(order, refunded_amount=amount, refund_count=1)
    made = Refund(refund_id=f"ref-{order.order_id}", refunded_amount=amount, refunded_at=at)
    assert store.orders.save(Change(after, made), 1, None)


def service(store: Store, clock: FrozenClock, refs: list[str] | None = None) -> SettlementService:
    counter = iter(refs or [f"REF{n:05d}" for n in range(1, 10_000)])
    return SettlementService(
        store, MerchantClocks(clock), SCHEDULE, FeeRate(), lambda: "id", lambda: next(counter)
    )


@pytest.fixture
def merchant_store(store: Store) -> Store:
    store.merchants.put(MERCHANT, START)
    return store


def count(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_concurrent_readers_settle_a_cutoff_once(merchant_store: Store) -> None:
    store = merchant_store
    for n in range(5):
        open_captured(store, f"order-{n}", 1000 * (n + 1), START + timedelta(minutes=n))
    clock = FrozenClock(START + timedelta(days=1))
    references = iter(f"RACE{n:04d}" for n in range(10_000))
    lock = threading.Lock()

    def new_reference() -> str:
        with lock:
            return next(references)

    services = [
        SettlementService(
            store, MerchantClocks(clock), SCHEDULE, FeeRate(), lambda: "id", new_reference
        )
        for _ in range(8)
    ]
    barrier = threading.Barrier(len(services))
    made: list[int] = []
    errors: list[BaseException] = []

    def read(settlements: SettlementService) -> None:
        barrier.wait()
        try:
            made.append(settlements.settle_due(MERCHANT.merchant_id))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(made) == [0] * 7 + [1]
    assert count(store, settlement_payouts) == 1
    assert count(store, settlement_transactions) == 10  # a SALE and a FEE per capture


def replan(stale: list[Source], schedule: Schedule, until: datetime) -> Planner:
    """A planner that ignores what the run finds and plans `stale` sources instead."""

    def planned(
        _sources: list[Source], _last: datetime | None, _debts: dict[str, int]
    ) -> list[PayoutDraft]:
        return plan(stale, schedule, until, None, {}, FeeRate(), lambda: "SECOND01")

    return planned


def test_a_run_that_lost_keeps_nothing(merchant_store: Store) -> None:
    store = merchant_store
    open_captured(store, "order-1", 5000, START)
    open_captured(store, "order-2", 7000, START + timedelta(hours=1))
    due = FIRST_CUTOFF
    stale = store.settlements.pending(MERCHANT.merchant_id, due)  # read before the first run
    assert len(stale) == 2
    written = store.settlements.run(
        MERCHANT.merchant_id,
        due,
        lambda sources, last, debts: plan(
            sources, SCHEDULE, due, last, debts, FeeRate(), lambda: "FIRST001"
        ),
        START,
    )
    assert written == 1
    # A run planned on the stale read: the same payout again (its key is taken), or a payout of
    # another cut-off over the same captures (their transactions are taken).
    for schedule in (SCHEDULE, Schedule.parse("23:00", "UTC")):
        with pytest.raises(AlreadySettled):
            store.settlements.run(
                MERCHANT.merchant_id, due, replan(stale, schedule, due + timedelta(hours=1)), START
            )
    assert count(store, settlement_payouts) == 1
    assert count(store, settlement_transactions) == 4


def test_a_capture_that_raced_the_run_goes_to_the_next_payout(merchant_store: Store) -> None:
    store = merchant_store
    open_captured(store, "order-1", 5000, START)
    clock = FrozenClock(START + timedelta(days=1))
    settlements = service(store, clock)
    assert settlements.settle_due(MERCHANT.merchant_id) == 1
    # Made (on the clock) before the first cut-off, committed after it was settled.
    open_captured(store, "late", 3000, FIRST_CUTOFF - timedelta(seconds=1))
    assert settlements.settle_due(MERCHANT.merchant_id) == 0  # not due before the next cut-off
    clock.advance(timedelta(days=1))
    assert settlements.settle_due(MERCHANT.merchant_id) == 1
    page = store.settlements.payouts(MERCHANT.merchant_id, None, None, None, 0, None)
    assert [(p.payout_date, p.totals.sale_amount) for p in page.items] == [
        (FIRST_CUTOFF + timedelta(days=1), 3000),
        (FIRST_CUTOFF, 5000),
    ]


def test_a_refund_of_a_settled_capture_lands_in_the_next_payout_as_debt(
    merchant_store: Store,
) -> None:
    store = merchant_store
    order = open_captured(store, "order-1", 5000, START)
    clock = FrozenClock(START + timedelta(days=1))
    settlements = service(store, clock)
    settlements.settle_due(MERCHANT.merchant_id)
    add_refund(store, order, 5000, clock.now())
    clock.advance(timedelta(days=1))
    settlements.settle_due(MERCHANT.merchant_id)
    latest = store.settlements.payouts(MERCHANT.merchant_id, None, None, None, 0, 1).items[0]
    assert latest.totals.return_amount == 5000
    assert latest.totals.settlement_amount == 0
    assert latest.totals.closing_debt_balance_amount == 5000


def test_retention_keeps_each_currencys_latest_payout(merchant_store: Store) -> None:
    store = merchant_store
    clock = FrozenClock(START)
    settlements = service(store, clock)
    for day in range(3):
        at = START + timedelta(days=day)
        open_captured(store, f"sek-{day}", 1000, at)
    open_captured(store, "eur-0", 1000, START, currency="EUR")
    clock.advance(timedelta(days=3))
    assert settlements.settle_due(MERCHANT.merchant_id) == 4
    removed = store.settlements.delete_before(
        MERCHANT.merchant_id, START + timedelta(days=10), limit=100
    )
    assert removed == 2  # the first two SEK payouts; the latest SEK and the only EUR stay
    left = store.settlements.payouts(MERCHANT.merchant_id, None, None, None, 0, None).items
    assert sorted((p.currency_code, p.payout_date.day) for p in left) == [("EUR", 1), ("SEK", 3)]
    assert count(store, settlement_transactions) == 4
    # Nothing settled twice after the prune: the search starts at the latest payout.
    assert settlements.settle_due(MERCHANT.merchant_id) == 0


def test_the_tables_are_what_the_migration_creates(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "settlement" in repr(d) or "_created" in repr(d)] == []


def test_pruning_deletes_payouts_past_the_window(merchant_store: Store) -> None:
    store = merchant_store
    clock = FrozenClock(START)
    settlements = service(store, clock)
    for day in range(2):
        open_captured(store, f"sek-{day}", 1000, START + timedelta(days=day))
    clock.advance(timedelta(days=2))
    assert settlements.settle_due(MERCHANT.merchant_id) == 2
    clocks = MerchantClocks(clock)
    assert RetentionService(store, 30, clocks.now).prune().payouts == 0  # inside the window
    clock.advance(timedelta(days=40))
    assert RetentionService(store, 30, clocks.now).prune().payouts == 1
    [kept] = store.settlements.payouts(MERCHANT.merchant_id, None, None, None, 0, None).items
    assert kept.payout_date == FIRST_CUTOFF + timedelta(days=1)
