"""Customer tokens under retention: a token nobody used (charged, cancelled, suspended) for the
window is deleted, and a charge on it is then `TOKEN_NOT_FOUND`; a token used within the window
stays. On both engines, through the real app."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.services.retention import RetentionService
from kco_sandbox.store import Store, tables
from kco_sandbox.store.engine import utc
from tests.api.test_customer_tokens import TOKENS, assert_error, mint, token_order
from tests.factories import MERCHANT, OTHER_MERCHANT, make_order
from tests.store.test_retention import ORDERS, count

OTHER = (OTHER_MERCHANT.merchant_id, OTHER_MERCHANT.api_key)


def last_used_at(store: Store, token: str) -> datetime:
    table = tables.customer_tokens
    with store.engine.connect() as conn:
        found = conn.execute(select(table.c.last_used_at).where(table.c.token == token)).scalar()
    assert found is not None
    return utc(found)


def charge(client: TestClient, token: str) -> None:
    response = client.post(f"{TOKENS}/{token}/order", json=token_order())
    assert response.status_code == 200, response.text


def test_a_token_used_within_the_window_stays_and_an_unused_one_goes(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    charged, suspended, unused = mint(client), mint(client), mint(client)
    clock.advance(timedelta(days=20))
    charge(client, charged)
    control = client.patch(f"/_sandbox/customer-tokens/{suspended}", json={"status": "SUSPENDED"})
    assert control.status_code == 200, control.text
    clock.advance(timedelta(days=10))  # 30 days after minting: the edge

    assert RetentionService(store, 0, lambda _m: clock.now()).prune().total() == 0
    retention = RetentionService(store, 30, lambda _m: clock.now(), batch=2)
    assert retention.prune().tokens == 0
    clock.advance(timedelta(seconds=1))
    removed = retention.prune()

    assert removed.tokens == 1
    assert count(store, tables.customer_tokens) == 2
    assert_error(
        client.post(f"{TOKENS}/{unused}/order", json=token_order()), 404, "TOKEN_NOT_FOUND"
    )
    assert_error(client.get(f"{TOKENS}/{unused}"), 404, "NOT_FOUND")
    assert client.get(f"{TOKENS}/{suspended}").json()["status"] == "SUSPENDED"
    charge(client, charged)  # used again: another 30 days

    clock.advance(timedelta(days=25))  # the suspension was 35 days ago, the charge 25
    assert retention.prune().tokens == 1
    charge(client, charged)
    assert_error(
        client.post(f"{TOKENS}/{suspended}/order", json=token_order()), 404, "TOKEN_NOT_FOUND"
    )


def test_retention_zero_keeps_every_token(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    token = mint(client)
    clock.advance(timedelta(days=400))

    assert RetentionService(store, 0, lambda _m: clock.now()).prune().tokens == 0

    assert count(store, tables.customer_tokens) == 1
    charge(client, token)


def test_last_used_at_is_the_minting_then_each_charge_and_status_change(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    minted_at = clock.now()
    token = mint(client)
    assert last_used_at(store, token) == minted_at
    clock.advance(timedelta(days=5))
    charge(client, token)
    assert last_used_at(store, token) == clock.now()
    clock.advance(timedelta(days=1))
    suspend = client.patch(f"/_sandbox/customer-tokens/{token}", json={"status": "SUSPENDED"})
    assert suspend.status_code == 200, suspend.text
    assert last_used_at(store, token) == clock.now()
    clock.advance(timedelta(days=1))
    cancel = client.patch(f"{TOKENS}/{token}/status", json={"status": "CANCELLED"})
    assert cancel.status_code == 202, cancel.text
    assert last_used_at(store, token) == clock.now()
    clock.advance(timedelta(days=1))
    refused = client.post(f"{TOKENS}/{token}/order", json=token_order())
    assert_error(refused, 403, "TOKEN_CANCELLED")  # a refused charge is no use
    assert last_used_at(store, token) == clock.now() - timedelta(days=1)


def test_tokens_go_in_bounded_batches_a_round(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    for _ in range(5):
        mint(client)
    clock.advance(timedelta(days=31))
    wall = [1000.0]
    retention = RetentionService(
        store, 30, lambda _m: clock.now(), batch=2, max_batches=2, wall=lambda: wall[0]
    )

    first = retention.prune_if_due()
    assert first is not None
    assert first.tokens == 4  # two batches of two
    wall[0] += 60
    second = retention.prune_if_due()
    assert second is not None
    assert second.tokens == 1
    assert count(store, tables.customer_tokens) == 0


def test_a_merchants_own_clock_decides_for_its_tokens(
    client: TestClient, store: Store, clock: FrozenClock
) -> None:
    mine = mint(client)
    body = make_order(
        purchase_country="DE", purchase_currency="EUR", locale="de-DE", recurring=True
    )
    created = client.post(ORDERS, json=body, auth=OTHER)
    assert created.status_code == 201, created.text
    order_id = created.json()["order_id"]
    done = client.post(f"/_sandbox/orders/{order_id}/complete", json={}, auth=OTHER)
    assert done.status_code == 200, done.text
    theirs = client.get(f"{ORDERS}/{order_id}", auth=OTHER).json()["recurring_token"]
    ahead = {MERCHANT.merchant_id: timedelta(days=31)}

    removed = RetentionService(
        store, 30, lambda m: clock.now() + ahead.get(m, timedelta(0))
    ).prune()

    assert removed.tokens == 1
    assert client.get(f"{TOKENS}/{mine}").status_code == 404
    assert client.get(f"{TOKENS}/{theirs}", auth=OTHER).status_code == 200
