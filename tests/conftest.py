"""Shared fixtures: settings, a frozen clock, stores on SQLite and PostgreSQL, the app, a server.

PostgreSQL runs use `KCO_SANDBOX_TEST_POSTGRES_URL` (a database the tests may create databases
from); each test session gets its own fresh database, dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.settings import Settings
from kco_sandbox.store.engine import SqlStore
from kco_sandbox.web.app import create_app
from tests.factories import MERCHANT, OTHER_MERCHANT
from tests.live import LiveServer
from tests.receiver import Receiver

BASE_URL = "http://testserver"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("KCO_SANDBOX_TEST_POSTGRES_URL", "")
    required = os.environ.get("KCO_SANDBOX_REQUIRE_POSTGRES") == "1"
    if not url:
        if required:
            pytest.fail("KCO_SANDBOX_REQUIRE_POSTGRES=1 but KCO_SANDBOX_TEST_POSTGRES_URL is unset")
        pytest.skip("KCO_SANDBOX_TEST_POSTGRES_URL is not set")
    admin_url = make_url(url).set(drivername="postgresql+psycopg")
    name = f"kco_test_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if required:
            pytest.fail(f"PostgreSQL at {url} is required but not usable: {exc}")
        pytest.skip(f"PostgreSQL at {url} is not usable: {exc}")
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        for table in ("callback_attempts", "callbacks", "platform_state", "idempotency_keys"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("DELETE FROM om_orders"))
        conn.execute(text("DELETE FROM order_events"))
        conn.execute(text("DELETE FROM checkout_orders"))
        conn.execute(text("DELETE FROM merchants"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A migrated, empty store on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kco.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = SqlStore.for_url(url)
    _reset(store)
    yield store
    store.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        merchants=(MERCHANT, OTHER_MERCHANT),
        max_body_bytes=64 * 1024,
        # Long enough that a loaded CI machine answers in time, short enough for the time-out tests.
        shipping_callback_timeout=5.0,
        validation_timeout=1.5,
        validation_required_timeout=2.0,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A merchant's callback endpoints, answering what the test sets."""
    with Receiver().running() as running:
        yield running


@pytest.fixture
def client(store: SqlStore, clock: FrozenClock, settings: Settings) -> Iterator[TestClient]:
    """The real app over a real store, authenticated as `MERCHANT`."""
    for merchant in settings.merchants:
        store.put_merchant(merchant, clock.now())
    app = create_app(settings, store, clock, list(settings.merchants))
    with TestClient(app, base_url=BASE_URL) as test_client:
        test_client.auth = (MERCHANT.merchant_id, MERCHANT.api_key)
        yield test_client


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """`kco-sandbox serve` as its own process on a free port, SQLite in a temporary folder."""
    server = LiveServer(tmp_path, merchants=[MERCHANT, OTHER_MERCHANT])
    server.start()
    yield server
    server.stop()
