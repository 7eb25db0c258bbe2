"""A purchase completes all at once or not at all: the checkout's new status, the Order Management
order, the push queued in the outbox and the completion event share one transaction.

The database itself refuses one of those inserts (a trigger, on each engine), as a full disk or a
lost connection would, and the test checks that nothing of the purchase was kept.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Table, func, select, text
from starlette.testclient import TestClient

from kco_sandbox.store import Store
from kco_sandbox.store.tables import callbacks, om_orders, order_events
from tests.factories import make_order


def refuse_inserts(store: Store, table: str) -> None:
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION refuse_insert() RETURNS trigger AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
                )
            )


def allow_inserts(store: Store, table: str) -> None:
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.execute(text(f"DROP TRIGGER IF EXISTS refuse_{table}"))
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS refuse_{table} ON {table}"))


def count(store: Store, table: Table, order_id: str) -> int:
    with store.engine.connect() as conn:
        query = select(func.count()).select_from(table).where(table.c.order_id == order_id)
        return int(conn.execute(query).scalar() or 0)


@pytest.mark.parametrize("refused", ["callbacks", "om_orders"])
def test_a_purchase_that_cannot_be_stored_whole_leaves_nothing_behind(
    store: Store, app_client: TestClient, refused: str
) -> None:
    created = app_client.post("/checkout/v3/orders", json=make_order())
    assert created.status_code == 201, created.text
    order_id = created.json()["order_id"]
    refuse_inserts(store, refused)
    try:
        failed = app_client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    finally:
        allow_inserts(store, refused)
    assert failed.status_code == 500, failed.text
    assert app_client.get(f"/checkout/v3/orders/{order_id}").json()["status"] == (
        "checkout_incomplete"
    )
    assert app_client.get(f"/ordermanagement/v1/orders/{order_id}").status_code == 404
    assert count(store, callbacks, order_id) == 0
    assert count(store, om_orders, order_id) == 0
    with store.engine.connect() as conn:
        kinds = conn.execute(
            select(order_events.c.kind).where(order_events.c.order_id == order_id)
        ).scalars()
        assert "purchase.completed" not in list(kinds)
    # Once the database takes writes again, the same purchase goes through, once.
    done = app_client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    assert done.status_code == 200, done.text
    assert count(store, callbacks, order_id) == 1
    assert count(store, om_orders, order_id) == 1
