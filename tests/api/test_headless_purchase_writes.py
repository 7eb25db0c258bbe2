"""A headless purchase (`POST /_sandbox/orders/{id}/complete`) writes the order once, except
around merchant callbacks, and keeps what its steps did when one of them fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from kco_sandbox.store import Store
from tests.api.test_sandbox_api import complete, create, urls_with
from tests.receiver import Receiver, Reply


@pytest.fixture
def checkout_updates(store: Store) -> Iterator[list[str]]:
    """The parameters of each UPDATE sent to `checkout_orders` while the test runs, as text."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE CHECKOUT_ORDERS"):
            seen.append(str(parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    yield seen
    event.remove(store.engine, "before_cursor_execute", record)


def test_without_callbacks_the_order_is_written_once(
    client: TestClient, checkout_updates: list[str]
) -> None:
    order = create(client)
    checkout_updates.clear()
    done = complete(client, order["order_id"], email="anna+require_signup@example.com")
    assert done.status_code == 200, done.text
    assert len(checkout_updates) == 1  # the completing transaction, nothing before it
    read = client.get(f"/checkout/v3/orders/{order['order_id']}").json()
    assert read["status"] == "checkout_complete"
    assert read["billing_address"]["email"] == "anna+require_signup@example.com"


def test_a_denied_purchase_keeps_what_its_steps_did(
    client: TestClient, checkout_updates: list[str]
) -> None:
    order = create(client)
    denied = complete(client, order["order_id"], email="anna+denied@example.com")
    assert denied.status_code == 422, denied.text
    assert len(checkout_updates) == 1  # the steps' record, written once when the buy failed
    read = client.get(f"/checkout/v3/orders/{order['order_id']}").json()
    assert read["status"] == "checkout_incomplete"
    assert read["billing_address"]["email"] == "anna+denied@example.com"
    again = complete(client, order["order_id"])
    assert again.status_code == 200, again.text


def test_the_order_is_locked_in_the_database_while_the_shop_is_called(
    client: TestClient, store: Store, receiver: Receiver, checkout_updates: list[str]
) -> None:
    order = create(client, merchant_urls=urls_with(receiver, address_update="/address"))
    order_id = order["order_id"]
    cart = {key: order[key] for key in ("order_amount", "order_tax_amount", "order_lines")}
    receiver.on("/address", Reply(200, cart | {"purchase_currency": order["purchase_currency"]}))
    done = complete(client, order_id)  # the fixture's receiver is running already
    assert done.status_code == 200, done.text
    assert len(receiver.calls("/address")) == 1
    # Locked before the call (with the steps so far), unlocked after it, then completed (the
    # shop's cart is taken in memory): three writes, not one per step.
    assert len(checkout_updates) == 3
    assert 'locked_until":"' in checkout_updates[0]
    assert 'locked_until":"' not in checkout_updates[1]
    stored = store.checkouts.get(order_id)
    assert stored is not None
    assert stored.session.locked_until is None
    assert stored.session.email is not None
