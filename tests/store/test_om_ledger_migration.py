"""Migration 0010 moves captures and refunds out of the order documents, on both engines.

A database at revision 0009 holds its orders the old way, the lists inside each document: more
orders than one page of the migration, and one order with more captures than one chunk of its
inserts. After the upgrade every capture and refund is a row, in its order, each document holds
the totals instead of the lists, and the API answers those orders as it answers orders made
since; downgrading puts the lists back, and upgrading again answers exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine, MetaData, insert, inspect, select
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.domain.order_management import rules
from kco_sandbox.domain.order_management.order import (
    Capture,
    CaptureRequest,
    OmOrder,
    OmOrderView,
    Refund,
    RefundRequest,
    ShippingInfo,
)
from kco_sandbox.ids import new_uuid
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from kco_sandbox.store.engine import engine_for, utc
from kco_sandbox.store.tables import om_captures, om_orders, om_refunds
from tests.conftest import BASE_URL
from tests.factories import MERCHANT
from tests.store.test_idempotency import (
    OM,
    START,
    _insert,
    _migrate,
    an_order,
    empty_url,
    old_document,
)

__all__ = ["empty_url"]  # the fixture: an empty database on each engine

ORDERS = 230  # more than a page of the migration (100 orders)
BIG = 10  # the order with more captures than one chunk of inserts (1,000 rows)
BIG_CAPTURES = 1_200


@dataclass(frozen=True)
class Made:
    """An order as the application keeps it now, and its lists."""

    order: OmOrder
    captures: list[Capture]
    refunds: list[Refund]

    def document(self) -> str:
        return old_document(self.order, self.captures, self.refunds)


def made(i: int) -> Made:
    """Order `i`: 0 to 3 captures (order `BIG`: 1,200) and up to 2 refunds, a minute apart; the
    latest change is a capture in some orders, a refund in others."""
    order, at = an_order(), START
    captures: list[Capture] = []
    refunds: list[Refund] = []
    for _ in range(BIG_CAPTURES if i == BIG else i % 4):
        at += timedelta(minutes=1)
        order, capture = rules.capture(order, CaptureRequest(captured_amount=7), new_uuid(), at)
        captures.append(capture)
    if captures and i % 5 == 0:
        info = [ShippingInfo(shipping_company="DHL", tracking_number=f"T-{i}")]
        captures[0] = msgspec.structs.replace(captures[0], shipping_info=info)
    for n in range(min(i % 3, len(captures))):
        refund_at = at + timedelta(minutes=1) if i % 2 else at - timedelta(hours=1)
        request = RefundRequest(refunded_amount=n + 1, description=f"refund {n}")
        order, refund = rules.refund(order, request, new_uuid(), refund_at)
        refunds.append(refund)
    return Made(order, captures, refunds)


@pytest.fixture
def at_0009(empty_url: str) -> Iterator[tuple[str, list[Made]]]:
    """A database at revision 0009 holding `ORDERS` orders the old way."""
    engine = engine_for(empty_url)
    try:
        _migrate(engine, "0009")
        at = START.replace(tzinfo=None)
        merchant = {"merchant_id": MERCHANT.merchant_id, "api_key": "k", "name": "Shop"}
        _insert(engine, "merchants", **merchant, markets=None, created_at=at)
        orders = [made(i) for i in range(ORDERS)]
        _insert_orders(engine, orders)
        yield empty_url, orders
    finally:
        engine.dispose()


def _insert_orders(engine: Engine, orders: list[Made]) -> None:
    """Insert into `om_orders` as revision 0009 has it."""
    with engine.begin() as conn:
        tables = MetaData()
        tables.reflect(conn, only=["om_orders"])
        conn.execute(
            insert(tables.tables["om_orders"]),
            [
                {
                    "order_id": m.order.order_id,
                    "merchant_id": MERCHANT.merchant_id,
                    "version": 1 + len(m.captures) + len(m.refunds),
                    "document": m.document(),
                    "created_at": START.replace(tzinfo=None),
                }
                for m in orders
            ],
        )


def _documents(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(om_orders.c.order_id, om_orders.c.document)).all()
    return {row.order_id: msgspec.json.decode(row.document) for row in rows}


def _answers(store: Store, settings: Settings, clock: FrozenClock) -> dict[str, Any]:
    """Each order as `GET /ordermanagement/v1/orders/{id}` answers it."""
    with _client(store, settings, clock) as client:
        answers: dict[str, Any] = {}
        for order_id in _documents(store.engine):
            response = client.get(f"{OM}/{order_id}")
            assert response.status_code == 200, response.text
            answers[order_id] = response.json()
        return answers


def _client(store: Store, settings: Settings, clock: FrozenClock) -> TestClient:
    for merchant in settings.merchants:
        store.merchants.put(merchant, clock.now())
    app = create_app(settings, store, clock, list(settings.merchants))
    client = TestClient(app, base_url=BASE_URL)
    client.auth = (MERCHANT.merchant_id, MERCHANT.api_key)
    return client


def test_0010_moves_every_capture_and_refund_to_rows_with_totals(
    at_0009: tuple[str, list[Made]],
) -> None:
    url, orders = at_0009
    store = Store.for_url(url)
    try:
        assert store.is_current()
        for m in orders:
            assert store.orders.view(m.order.order_id) == OmOrderView(
                m.order, m.captures, m.refunds
            )
        by_id = {m.order.order_id: m for m in orders}
        for order_id, document in _documents(store.engine).items():
            assert "captures" not in document
            assert "refunds" not in document
            assert ("capture_count" in document) == bool(by_id[order_id].captures)
        big = orders[BIG]
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(om_captures.c.seq, om_captures.c.capture_id, om_captures.c.created_at)
                .where(om_captures.c.order_id == big.order.order_id)
                .order_by(om_captures.c.seq)
            ).all()
            refunds = conn.execute(select(om_refunds.c.order_id)).scalars().all()
        assert [(r.seq, r.capture_id) for r in rows] == [
            (seq, c.capture_id) for seq, c in enumerate(big.captures, start=1)
        ]
        assert [utc(r.created_at) for r in rows] == [c.captured_at for c in big.captures]
        assert len(refunds) == sum(len(m.refunds) for m in orders)
        assert big.order.ledger_changed_at == big.captures[-1].captured_at
        assert any(
            m.order.ledger_changed_at == m.refunds[-1].refunded_at for m in orders if m.refunds
        )
    finally:
        store.close()


def test_0010_answers_as_before_and_goes_down_and_up_again(
    at_0009: tuple[str, list[Made]], settings: Settings
) -> None:
    url, orders = at_0009
    clock = FrozenClock(START + timedelta(days=1))
    store = Store.for_url(url)
    try:
        before = _answers(store, settings, clock)
    finally:
        store.close()
    big = orders[BIG]
    answer = before[big.order.order_id]
    assert (answer["status"], answer["captured_amount"]) == ("PART_CAPTURED", 7 * BIG_CAPTURES)
    assert answer["refunded_amount"] == sum(r.refunded_amount for r in big.refunds)
    assert [c["capture_id"] for c in answer["captures"]] == [c.capture_id for c in big.captures]
    assert [c["klarna_reference"] for c in answer["captures"]][-1] == f"ABC1234-{BIG_CAPTURES}"
    assert answer["captures"][0]["shipping_info"] == [
        {"shipping_company": "DHL", "tracking_number": f"T-{BIG}"}
    ]

    engine = engine_for(url)
    try:
        _migrate(engine, "0009", down=True)
        assert not {"om_captures", "om_refunds"} & set(inspect(engine).get_table_names())
        assert _documents(engine) == {
            m.order.order_id: msgspec.json.decode(m.document()) for m in orders
        }
        _migrate(engine, "head")
    finally:
        engine.dispose()

    store = Store.for_url(url)
    try:
        assert _answers(store, settings, clock) == before
        with _client(store, settings, clock) as client:
            order_id = big.order.order_id
            made = client.post(f"{OM}/{order_id}/captures", json={"captured_amount": 7})
            assert made.status_code == 201, made.text
            capture_id = made.headers["capture-id"]
            after = client.get(f"{OM}/{order_id}").json()
            assert after["captures"][-1]["capture_id"] == capture_id
            assert after["captures"][-1]["klarna_reference"] == f"ABC1234-{BIG_CAPTURES + 1}"
            assert after["captured_amount"] == 7 * (BIG_CAPTURES + 1)
            first = big.captures[0].capture_id
            assert client.get(f"{OM}/{order_id}/captures/{first}").json() == answer["captures"][0]
    finally:
        store.close()
