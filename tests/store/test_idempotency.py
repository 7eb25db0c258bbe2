"""Idempotency keys on SQLite and PostgreSQL: the service's replays, races, and migration 0005.

A key stores what its first successful call did (operation, order, id of what it made); these
tests drive `OrderManagementService` over a real store, and upgrade a database that still holds
keys in the pre-0005 form (the HTTP answer) to check that those keys replay the same answers.
"""

from __future__ import annotations

import importlib
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, insert, select, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock, MerchantClocks
from kco_sandbox.domain.errors import CaptureNotAllowed
from kco_sandbox.domain.order_management import rules
from kco_sandbox.domain.order_management.idempotency import Replay
from kco_sandbox.domain.order_management.lifecycle import AUTHORIZATION_LIFETIME, OmAction
from kco_sandbox.domain.order_management.order import (
    Capture,
    CaptureRequest,
    OmAddress,
    OmLine,
    OmOrder,
    Refund,
    RefundRequest,
)
from kco_sandbox.ids import new_uuid
from kco_sandbox.platform import create_app
from kco_sandbox.services.order_management import OrderManagementService
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store, migration
from kco_sandbox.store.engine import engine_for
from kco_sandbox.store.tables import metadata
from tests.conftest import BASE_URL
from tests.factories import MERCHANT

START = datetime(2026, 1, 1, 12, tzinfo=UTC)
AMOUNT = 50_000
OM = "/ordermanagement/v1/orders"


def an_order() -> OmOrder:
    return OmOrder(
        order_id=new_uuid(),
        merchant_id=MERCHANT.merchant_id,
        klarna_reference="ABC1234",
        purchase_country="SE",
        purchase_currency="SEK",
        locale="sv-SE",
        order_amount=AMOUNT,
        original_order_amount=AMOUNT,
        order_lines=[OmLine(quantity=1, name="Item", total_amount=AMOUNT, unit_price=AMOUNT)],
        created_at=START,
        expires_at=START + AUTHORIZATION_LIFETIME,
        fraud_status="ACCEPTED",
        billing_address=OmAddress(given_name="Testperson-se", country="SE"),
    )


def old_document(order: OmOrder, captures: list[Capture], refunds: list[Refund]) -> str:
    """`order` as documents were stored before migration 0010: its captures and refunds inside,
    no running totals."""
    document = msgspec.to_builtins(order)
    for total in (
        "captured_amount",
        "refunded_amount",
        "capture_count",
        "refund_count",
        "ledger_changed_at",
    ):
        document.pop(total, None)
    if captures:
        document["captures"] = msgspec.to_builtins(captures)
    if refunds:
        document["refunds"] = msgspec.to_builtins(refunds)
    return msgspec.json.encode(document).decode()


def opened(store: Store) -> str:
    """A new authorized order of `MERCHANT` in `store`."""
    store.merchants.put(MERCHANT, START)
    order = an_order()
    with store.db.write() as conn:
        store.orders.open_on(conn, order)
    return order.order_id


def service(store: Store) -> OrderManagementService:
    return OrderManagementService(
        orders=store.orders, clock=MerchantClocks(FrozenClock(START)), new_id=new_uuid
    )


def whole() -> CaptureRequest:
    return CaptureRequest(captured_amount=AMOUNT)


def test_a_repeat_of_a_whole_capture_replays_it_and_changes_nothing(store: Store) -> None:
    order_id, management = opened(store), service(store)
    made = management.capture(MERCHANT, order_id, whole(), "key-1")
    assert isinstance(made, Capture)
    # The rules would refuse this (nothing left to capture): the replay must come first.
    again = management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=1), "key-1")
    assert again == Replay(OmAction.CAPTURE, order_id, made.capture_id)
    assert management.get_order(MERCHANT, order_id).captures == [made]
    with pytest.raises(CaptureNotAllowed):
        management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=1), "key-2")


def test_a_repeat_of_a_refund_and_of_a_cancel_replay_them(store: Store) -> None:
    management = service(store)
    order_id = opened(store)
    management.capture(MERCHANT, order_id, whole())
    made = management.refund(MERCHANT, order_id, RefundRequest(refunded_amount=AMOUNT), "r")
    assert isinstance(made, Refund)
    again = management.refund(MERCHANT, order_id, RefundRequest(refunded_amount=AMOUNT), "r")
    assert again == Replay(OmAction.REFUND, order_id, made.refund_id)
    assert len(management.get_order(MERCHANT, order_id).refunds) == 1
    other = opened(store)
    assert isinstance(management.cancel(MERCHANT, other, "c"), OmOrder)
    assert management.cancel(MERCHANT, other, "c") == Replay(OmAction.CANCEL, other, None)


def test_a_refused_call_does_not_use_up_its_key(store: Store) -> None:
    order_id, management = opened(store), service(store)
    with pytest.raises(CaptureNotAllowed):
        management.capture(MERCHANT, order_id, CaptureRequest(captured_amount=AMOUNT + 1), "k")
    assert isinstance(management.capture(MERCHANT, order_id, whole(), "k"), Capture)


def test_racing_repeats_of_a_whole_capture_all_answer_the_one_capture(store: Store) -> None:
    """Requests with one key that race: one captures, every other replays it (none is refused,
    though after the first nothing is left to capture)."""
    order_id, management = opened(store), service(store)
    threads, start = 8, threading.Barrier(8)
    answers: list[Capture | Replay] = []
    errors: list[BaseException] = []

    def capture() -> None:
        start.wait()
        try:
            answers.append(management.capture(MERCHANT, order_id, whole(), "raced"))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=capture) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    [made] = management.get_order(MERCHANT, order_id).captures
    assert [a for a in answers if isinstance(a, Capture)] == [made]
    assert all(
        a == Replay(OmAction.CAPTURE, order_id, made.capture_id)
        for a in answers
        if isinstance(a, Replay)
    )
    assert len(answers) == threads


def test_the_idempotency_table_matches_the_schema_module(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "idempotency_keys" in repr(d)] == []


# Migration 0005: keys stored as HTTP answers before it still replay after it.


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, empty (not even migrated), on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    session_url = make_url(request.getfixturevalue("postgres_url"))
    name = f"kco_migration_{secrets.token_hex(6)}"
    admin = create_engine(session_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield session_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Move the schema to `revision` with the packaged migrations."""
    with engine.begin() as conn:
        if not down:
            migration.upgrade(conn, revision)
            return
        config = Config()
        config.set_main_option("script_location", str(migration.SCRIPTS))
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _insert(engine: Engine, table: str, **row: Any) -> None:
    """Insert into `table` as the database has it now (not as `tables.py` describes it)."""
    with engine.begin() as conn:
        tables = MetaData()
        tables.reflect(conn, only=[table])
        conn.execute(insert(tables.tables[table]), row)


def _keys(engine: Engine) -> dict[str, tuple[Any, ...]]:
    """Each stored key's columns besides merchant, key and time, in the table's order."""
    with engine.connect() as conn:
        tables = MetaData()
        tables.reflect(conn, only=["idempotency_keys"])
        table = tables.tables["idempotency_keys"]
        ignored = ("merchant_id", "idempotency_key", "created_at", "scope")  # scope: 0006
        columns = [c for c in table.c if c.name not in ignored]
        rows = conn.execute(select(table.c.idempotency_key, *columns)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


@dataclass(frozen=True)
class OldDatabase:
    """A database at revision 0004: one fully captured, part-refunded order and three keys
    stored the old way (`old-capture`, `old-refund`: 201 answers; `old-cancel`: a 204)."""

    url: str
    order_id: str
    capture_id: str
    refund_id: str

    def location(self) -> str:
        return f"{BASE_URL}{OM}/{self.order_id}"

    def carried_over(self) -> dict[str, tuple[Any, ...]]:
        """The keys as migration 0005 must leave them."""
        return {
            "old-capture": ("capture", self.order_id, self.capture_id),
            "old-refund": ("refund", self.order_id, self.refund_id),
            "old-cancel": ("unknown", None, None),
        }


@pytest.fixture
def old_database(empty_url: str) -> OldDatabase:
    engine = engine_for(empty_url)
    try:
        return _fill_at_0004(engine, empty_url)
    finally:
        engine.dispose()


def _fill_at_0004(engine: Engine, url: str) -> OldDatabase:
    _migrate(engine, "0004")
    at = START.replace(tzinfo=None)
    merchant = {"merchant_id": MERCHANT.merchant_id, "api_key": "k", "name": "Shop"}
    _insert(engine, "merchants", **merchant, markets=None, created_at=at)
    order = an_order()
    order, capture = rules.capture(order, whole(), new_uuid(), START)
    order, refund = rules.refund(order, RefundRequest(refunded_amount=100), new_uuid(), START)
    document = old_document(order, [capture], [refund])
    _insert(
        engine,
        "om_orders",
        order_id=order.order_id,
        merchant_id=MERCHANT.merchant_id,
        version=3,
        document=document,
        created_at=at,
    )
    old = OldDatabase(url, order.order_id, capture.capture_id, refund.refund_id)
    answers: dict[str, tuple[int, dict[str, str]]] = {
        "old-capture": (
            201,
            {
                "Location": f"{old.location()}/captures/{old.capture_id}",
                "Capture-Id": old.capture_id,
            },
        ),
        "old-refund": (
            201,
            {"Location": f"{old.location()}/refunds/{old.refund_id}", "Refund-Id": old.refund_id},
        ),
        "old-cancel": (204, {}),
    }
    for key, (status, headers) in answers.items():
        _insert(
            engine,
            "idempotency_keys",
            merchant_id=MERCHANT.merchant_id,
            idempotency_key=key,
            status=status,
            headers=json.dumps(headers),
            body="",
            created_at=at,
        )
    return old


@pytest.fixture
def upgraded(old_database: OldDatabase) -> Iterator[Store]:
    """A store over `old_database`, upgraded to the newest schema as `serve` would."""
    store = Store.for_url(old_database.url)
    yield store
    store.close()


def test_0005_carries_old_keys_over(old_database: OldDatabase, upgraded: Store) -> None:
    assert upgraded.is_current()
    assert _keys(upgraded.engine) == old_database.carried_over()


def test_keys_from_before_0005_still_replay_their_answers(
    old_database: OldDatabase, upgraded: Store, settings: Settings, clock: FrozenClock
) -> None:
    for merchant in settings.merchants:
        upgraded.merchants.put(merchant, clock.now())
    app = create_app(settings, upgraded, clock, list(settings.merchants))
    url = f"{OM}/{old_database.order_id}"
    with TestClient(app, base_url=BASE_URL) as client:
        client.auth = (MERCHANT.merchant_id, MERCHANT.api_key)
        # The order is fully captured: a capture or a cancel would be refused if it ran.
        key = {"Klarna-Idempotency-Key": "old-capture"}
        again = client.post(f"{url}/captures", json={"captured_amount": 1}, headers=key)
        assert again.status_code == 201, again.text
        assert again.headers["capture-id"] == old_database.capture_id
        assert again.headers["location"] == (
            f"{old_database.location()}/captures/{old_database.capture_id}"
        )
        key = {"Klarna-Idempotency-Key": "old-refund"}
        again = client.post(f"{url}/refunds", json={"refunded_amount": 1}, headers=key)
        assert again.status_code == 201, again.text
        assert again.headers["refund-id"] == old_database.refund_id
        assert again.headers["location"] == (
            f"{old_database.location()}/refunds/{old_database.refund_id}"
        )
        key = {"Klarna-Idempotency-Key": "old-cancel"}
        again = client.post(f"{url}/cancel", headers=key)
        assert (again.status_code, again.content) == (204, b"")
        assert client.post(f"{url}/cancel").status_code == 403  # what a cancel that ran answers
        after = client.get(url).json()
        assert (after["status"], after["captured_amount"], after["refunded_amount"]) == (
            "CAPTURED",
            AMOUNT,
            100,
        )
        assert [c["capture_id"] for c in after["captures"]] == [old_database.capture_id]
        assert [r["refund_id"] for r in after["refunds"]] == [old_database.refund_id]


def test_0005_downgrades_to_the_old_answers_and_up_again(old_database: OldDatabase) -> None:
    engine = engine_for(old_database.url)
    try:
        _down_and_up(engine, old_database)
    finally:
        engine.dispose()


def _down_and_up(engine: Engine, old_database: OldDatabase) -> None:
    _migrate(engine, "head")
    _migrate(engine, "0004", down=True)
    # Location comes back as a path: the public base URL the first answer used is not kept.
    path = f"{OM}/{old_database.order_id}"
    capture_id, refund_id = old_database.capture_id, old_database.refund_id
    assert _keys(engine) == {
        "old-capture": (
            201,
            json.dumps({"Location": f"{path}/captures/{capture_id}", "Capture-Id": capture_id}),
            "",
        ),
        "old-refund": (
            201,
            json.dumps({"Location": f"{path}/refunds/{refund_id}", "Refund-Id": refund_id}),
            "",
        ),
        "old-cancel": (204, "{}", ""),
    }
    _migrate(engine, "head")
    assert _keys(engine) == old_database.carried_over()


def test_the_carry_over_reads_ids_and_orders_from_the_old_headers() -> None:
    carried_over = importlib.import_module(
        "kco_sandbox.store.migrations.versions.0005_idempotency_replays"
    ).carried_over
    loc = "https://shop.example/ordermanagement/v1/orders/o-1/captures/c-1"
    assert carried_over(201, {"location": loc, "capture-id": "c-1"}) == {
        "operation": "capture",
        "order_id": "o-1",
        "created_id": "c-1",
    }
    assert carried_over(201, {"Refund-Id": "r-1"}) == {
        "operation": "refund",
        "order_id": None,
        "created_id": "r-1",
    }
    assert carried_over(204, {})["operation"] == "unknown"
    assert carried_over(200, {"Capture-Id": "c-1"})["operation"] == "unknown"
