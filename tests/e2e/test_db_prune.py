"""`kco-sandbox db prune` as an operator runs it: on a database a server wrote, it deletes what
the retention window passed, keeps the rest, and says what it removed."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.callback_support import clean_env
from tests.conftest import BASE_URL
from tests.factories import MERCHANT, make_order


def prune(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kco_sandbox", "db", "prune", "--database-url", url, *args],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def orders_made(url: str, at: datetime, count: int) -> list[str]:
    """`count` orders created through the API at `at`, never completed."""
    store = Store.for_url(url)
    clock = FrozenClock(at)
    store.merchants.put(MERCHANT, clock.now())
    settings = Settings(merchants=(MERCHANT,), allowed_hosts=("testserver",))
    app = create_app(settings, store, clock, [MERCHANT])
    made = []
    with TestClient(app, base_url=BASE_URL) as client:
        client.auth = (MERCHANT.merchant_id, MERCHANT.api_key)
        for _ in range(count):
            response = client.post("/checkout/v3/orders", json=make_order())
            assert response.status_code == 201, response.text
            made.append(response.json()["order_id"])
    store.close()
    return made


def test_db_prune_deletes_what_the_window_passed_and_says_what(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kco.db'}"
    now = datetime.now(UTC)
    old = orders_made(url, now - timedelta(days=40), 3)
    young = orders_made(url, now - timedelta(days=10), 1)

    kept = prune(url, "--retention-days", "0")
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("pruned 0 orders,")

    done = prune(url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "pruned 3 orders, 0 Order Management orders, 3 events, 0 callbacks, 0 attempts, "
        "0 idempotency keys, 0 customer tokens, 0 payouts (older than 30 days)"
    )
    store = Store.for_url(url, migrate=False)
    try:
        assert [store.checkouts.get(order_id) for order_id in old] == [None, None, None]
        assert store.checkouts.get(young[0]) is not None
        assert store.events.list(old[0]) == []
    finally:
        store.close()
