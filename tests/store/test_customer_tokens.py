"""Customer tokens in storage: written with the purchase that mints them, all or nothing, and a
table that is exactly what migration 0011 creates."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from starlette.testclient import TestClient

from kco_sandbox.domain.customer_token import TokenStatus
from kco_sandbox.store import Store
from kco_sandbox.store.tables import customer_tokens, metadata, om_orders
from tests.factories import MERCHANT, make_order
from tests.store.test_completion_atomicity import allow_inserts, count, refuse_inserts


def tokens_of(store: Store, order_id: str) -> int:
    return count(store, customer_tokens, order_id)


def test_the_token_row_is_written_with_the_completion(store: Store, app_client: TestClient) -> None:
    created = app_client.post("/checkout/v3/orders", json=make_order(recurring=True))
    order_id = created.json()["order_id"]
    done = app_client.post(
        f"/_sandbox/orders/{order_id}/complete",
        json={"email": "jane@example.com", "payment_method": "card"},
    )
    assert done.status_code == 200, done.text
    recurring_token = app_client.get(f"/checkout/v3/orders/{order_id}").json()["recurring_token"]
    token = store.tokens.get(recurring_token)
    assert token is not None
    assert (token.merchant_id, token.order_id, token.status) == (
        MERCHANT.merchant_id,
        order_id,
        TokenStatus.ACTIVE,
    )
    assert (token.payment_method_type, token.email) == ("CARD", "jane@example.com")
    assert token.details.purchase_currency == "SEK"
    assert token.details.billing_address is not None
    assert token.created_at == store.checkouts.get(order_id).completed_at  # type: ignore[union-attr]


@pytest.mark.parametrize("refused", ["customer_tokens", "om_orders"])
def test_a_recurring_purchase_that_cannot_be_stored_whole_mints_nothing(
    store: Store, app_client: TestClient, refused: str
) -> None:
    created = app_client.post("/checkout/v3/orders", json=make_order(recurring=True))
    order_id = created.json()["order_id"]
    refuse_inserts(store, refused)
    try:
        failed = app_client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    finally:
        allow_inserts(store, refused)
    assert failed.status_code == 500, failed.text
    assert tokens_of(store, order_id) == 0
    assert count(store, om_orders, order_id) == 0
    order = app_client.get(f"/checkout/v3/orders/{order_id}").json()
    assert order["status"] == "checkout_incomplete"
    assert "recurring_token" not in order
    done = app_client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    assert done.status_code == 200, done.text
    assert tokens_of(store, order_id) == 1


def test_a_charge_that_cannot_be_stored_opens_nothing(store: Store, app_client: TestClient) -> None:
    created = app_client.post("/checkout/v3/orders", json=make_order(recurring=True))
    order_id = created.json()["order_id"]
    app_client.post(f"/_sandbox/orders/{order_id}/complete", json={})
    token = app_client.get(f"/checkout/v3/orders/{order_id}").json()["recurring_token"]
    body = make_order()
    body = {k: body[k] for k in ("purchase_currency", "order_amount", "order_tax_amount")}
    body["order_lines"] = make_order()["order_lines"]
    url = f"/customer-token/v1/tokens/{token}/order"
    key = {"Klarna-Idempotency-Key": "first"}
    refuse_inserts(store, "idempotency_keys")
    try:
        assert app_client.post(url, json=body, headers=key).status_code == 500
    finally:
        allow_inserts(store, "idempotency_keys")
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(om_orders)).scalar() == 1
    assert app_client.post(url, json=body, headers=key).status_code == 200


def test_the_token_table_matches_the_schema_module(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "customer_tokens" in repr(d)] == []
