"""Captures and refunds as rows of their own, on SQLite and PostgreSQL.

A change of an Order Management order writes the order row and at most one capture or refund
row, whatever the order already holds: the statements a capture, a refund or a capture-level
change sends are the same at one capture as at hundreds, and none of them reads the other
captures. A read of the whole order is the order row and one range read per list, and its lists
always add up to the order's totals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, func, insert, select

from kco_sandbox.clock import FrozenClock, MerchantClocks
from kco_sandbox.domain.order_management import rules
from kco_sandbox.domain.order_management.order import (
    Capture,
    CaptureRequest,
    RefundRequest,
    ShippingInfo,
    ShippingInfoUpdate,
)
from kco_sandbox.ids import new_uuid
from kco_sandbox.services.order_management import OrderManagementService
from kco_sandbox.store import Store
from kco_sandbox.store.orders import Found
from kco_sandbox.store.retention import Doomed
from kco_sandbox.store.tables import metadata, om_captures, om_orders, om_refunds
from tests.factories import MERCHANT
from tests.store.test_idempotency import AMOUNT, START, an_order, opened

MANY = 200


def service(store: Store, clock: FrozenClock) -> OrderManagementService:
    return OrderManagementService(orders=store.orders, clock=MerchantClocks(clock), new_id=new_uuid)


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL sent to the database meanwhile (each statement's text, without its values)."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(" ".join(str(args[2]).split()))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def on_ledger(sent: list[str]) -> list[str]:
    return [s for s in sent if "om_captures" in s or "om_refunds" in s]


def sent_by(store: Store, call: Callable[[], object]) -> list[str]:
    with statements(store) as sent:
        call()
    return sent


def version(store: Store, order_id: str) -> int:
    found = store.orders.get(order_id)
    assert found is not None
    return found[1]


def rows(store: Store, table: Any, order_id: str) -> list[Any]:
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                select(table).where(table.c.order_id == order_id).order_by(table.c.seq)
            ).all()
        )


def test_a_change_costs_the_same_statements_at_one_capture_and_at_many(store: Store) -> None:
    clock = FrozenClock(START)
    management = service(store, clock)
    order_id = opened(store)
    one = CaptureRequest(captured_amount=1)
    first = management.capture(MERCHANT, order_id, one)
    assert isinstance(first, Capture)
    refund = RefundRequest(refunded_amount=1)
    info = ShippingInfoUpdate(shipping_info=[ShippingInfo(shipping_company="DHL")])

    def calls() -> list[list[str]]:
        return [
            sent_by(store, lambda: management.capture(MERCHANT, order_id, one, new_uuid())),
            sent_by(store, lambda: management.refund(MERCHANT, order_id, refund, new_uuid())),
            sent_by(
                store,
                lambda: management.add_capture_shipping_info(
                    MERCHANT, order_id, first.capture_id, info, new_uuid()
                ),
            ),
            sent_by(store, lambda: management.extend_authorization_time(MERCHANT, order_id)),
        ]

    early = calls()
    for _ in range(MANY):
        management.capture(MERCHANT, order_id, one)
    late = calls()
    assert late == early
    capture, refunded, shipping, extend = early
    # A capture inserts its row and reads none; a refund likewise; a capture-level change reads
    # and rewrites its one capture (by id); an order-level change touches neither table.
    assert [s.split()[0] for s in on_ledger(capture)] == ["INSERT"]
    assert [s.split()[0] for s in on_ledger(refunded)] == ["INSERT"]
    assert [s.split()[0] for s in on_ledger(shipping)] == ["SELECT", "UPDATE"]
    assert all("capture_id =" in s for s in on_ledger(shipping))
    assert on_ledger(extend) == []
    view = management.get_order(MERCHANT, order_id)
    assert view.order.capture_count == len(view.captures) == MANY + 3
    assert view.order.captured_amount == sum(c.captured_amount for c in view.captures)
    assert [c.klarna_reference for c in view.captures] == [
        f"ABC1234-{n}" for n in range(1, MANY + 4)
    ]
    assert [r.seq for r in rows(store, om_captures, order_id)] == list(range(1, MANY + 4))
    assert [r.seq for r in rows(store, om_refunds, order_id)] == [1, 2]


def verb_and_table(statement: str) -> tuple[str, str]:
    words = statement.split()
    if words[0] == "SELECT":
        return "SELECT", words[words.index("FROM") + 1]
    return words[0], words[2] if words[0] == "INSERT" else words[1]


def test_a_capture_reads_the_order_and_its_key_then_writes_them_with_the_capture(
    store: Store,
) -> None:
    """The fewest statements a capture can cost: the order row and the key read, then one write
    transaction of the version-checked order row, the capture (with the read of the merchant's
    webhook destinations its `capture.created` event goes to) and the key."""
    management = service(store, FrozenClock(START))
    order_id = opened(store)
    one = CaptureRequest(captured_amount=1)
    sent = sent_by(store, lambda: management.capture(MERCHANT, order_id, one, "key-1"))
    work = [verb_and_table(s) for s in sent if not s.startswith(("BEGIN", "COMMIT"))]
    assert work == [
        ("SELECT", "om_orders"),
        ("SELECT", "idempotency_keys"),
        ("UPDATE", "om_orders"),
        ("INSERT", "om_captures"),
        ("SELECT", "webhook_destinations"),
        ("INSERT", "idempotency_keys"),
    ]
    assert "om_orders.version =" in sent[[s.startswith("UPDATE") for s in sent].index(True)]
    without_key = sent_by(store, lambda: management.capture(MERCHANT, order_id, one))
    assert [verb_and_table(s) for s in without_key if not s.startswith(("BEGIN", "COMMIT"))] == [
        ("SELECT", "om_orders"),
        ("UPDATE", "om_orders"),
        ("INSERT", "om_captures"),
        ("SELECT", "webhook_destinations"),
    ]


def test_a_read_of_the_whole_order_is_one_range_read_per_list(store: Store) -> None:
    management = service(store, FrozenClock(START))
    order_id = opened(store)
    for amount in (100, 200, 300):
        management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=amount))
    management.refund(MERCHANT, order_id, RefundRequest(refunded_amount=50))
    sent = sent_by(store, lambda: management.get_order(MERCHANT, order_id))
    assert len(on_ledger(sent)) == 2
    assert all("seq <=" in s and "ORDER BY" in s for s in on_ledger(sent))
    for amount in range(MANY):
        management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=1 + amount % 2))
    assert sent_by(store, lambda: management.get_order(MERCHANT, order_id)) == sent


def test_the_lists_stop_at_the_counts_of_the_order_read(store: Store) -> None:
    """A capture committed after the order row was read is not listed: the lists always add up
    to the totals the same answer shows."""
    management = service(store, FrozenClock(START))
    order_id = opened(store)
    made = management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=100))
    assert isinstance(made, Capture)
    later = msgspec.structs.replace(made, capture_id=new_uuid(), captured_amount=5)
    with store.engine.begin() as conn:
        conn.execute(
            insert(om_captures),
            {
                "order_id": order_id,
                "seq": 2,
                "capture_id": later.capture_id,
                "created_at": store.db.time(START),
                "document": msgspec.json.encode(later).decode(),
            },
        )
    view = store.orders.view(order_id)
    assert view is not None
    assert view.captures == [made]
    assert view.order.captured_amount == 100
    assert store.orders.capture(order_id, later.capture_id) == later  # found by its id


def test_a_capture_level_change_rewrites_only_its_capture(store: Store) -> None:
    management = service(store, FrozenClock(START))
    order_id = opened(store)
    made = [
        management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=100))
        for _ in range(3)
    ]
    assert all(isinstance(c, Capture) for c in made)
    before = {r.capture_id: r.document for r in rows(store, om_captures, order_id)}
    before_version = version(store, order_id)
    middle = made[1]
    assert isinstance(middle, Capture)
    info = ShippingInfoUpdate(shipping_info=[ShippingInfo(tracking_number="T-1")])
    management.add_capture_shipping_info(MERCHANT, order_id, middle.capture_id, info)
    management.extend_due_date(MERCHANT, order_id, middle.capture_id, 14)
    after = {r.capture_id: r.document for r in rows(store, om_captures, order_id)}
    assert [k for k in before if before[k] != after[k]] == [middle.capture_id]
    changed = store.orders.capture(order_id, middle.capture_id)
    assert changed is not None
    assert changed.shipping_info == [ShippingInfo(tracking_number="T-1")]
    assert changed.due_date_extended_days == 14
    assert version(store, order_id) == before_version + 2  # the order moved too


def test_an_order_opened_with_a_capture_stores_it_as_a_row(store: Store) -> None:
    store.merchants.put(MERCHANT, START)
    order, made = rules.capture(an_order(), CaptureRequest(captured_amount=AMOUNT), "c-1", START)
    opening = msgspec.structs.replace(order, opening_capture=made)
    with store.db.write() as conn:
        store.orders.open_on(conn, opening)
    with store.engine.connect() as conn:
        document = conn.execute(
            select(om_orders.c.document).where(om_orders.c.order_id == order.order_id)
        ).scalar_one()
    assert "opening_capture" not in msgspec.json.decode(document)
    view = store.orders.view(order.order_id)
    assert view is not None
    assert (view.order, view.captures, view.refunds) == (order, [made], [])
    assert [(r.seq, r.capture_id) for r in rows(store, om_captures, order.order_id)] == [(1, "c-1")]


def test_an_id_with_a_nul_names_no_capture_or_refund(store: Store) -> None:
    order_id = opened(store)
    assert store.orders.capture(order_id, "c\x00") is None
    assert store.orders.refund(order_id, "r\x00") is None
    found = store.orders.get_or_replay(order_id, MERCHANT.merchant_id, None, (), "c\x00")
    assert isinstance(found, Found)
    assert found.capture is None


def test_retention_deletes_the_rows_with_their_order_and_keeps_a_changed_orders(
    store: Store,
) -> None:
    clock = FrozenClock(START)
    management = service(store, clock)
    doomed, changed = opened(store), opened(store)
    for order_id in (doomed, changed):
        for _ in range(3):
            management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=100))
        management.refund(MERCHANT, order_id, RefundRequest(refunded_amount=10))
    versions = {o: version(store, o) for o in (doomed, changed)}
    clock.advance(timedelta(minutes=1))
    management.capture(MERCHANT, changed, CaptureRequest(captured_amount=1))  # after the judging
    removed = store.retention.delete_orders(
        [Doomed(doomed, versions[doomed]), Doomed(changed, versions[changed])], batch=2
    )
    assert removed.om_orders == 1
    assert (rows(store, om_captures, doomed), rows(store, om_refunds, doomed)) == ([], [])
    assert len(rows(store, om_captures, changed)) == 4
    assert len(rows(store, om_refunds, changed)) == 1
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(om_captures)).scalar() == 4


@pytest.mark.parametrize("table", ["om_orders", "om_captures", "om_refunds"])
def test_the_order_management_tables_match_the_schema_module(store: Store, table: str) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if table in repr(d)] == []
