"""Shared fixtures: settings, a frozen clock, stores on SQLite and PostgreSQL, the app, a server.

PostgreSQL runs use `KCO_SANDBOX_TEST_POSTGRES_URL` (a database the tests may create databases
from); each test session gets its own fresh database, migrated once, emptied before each test and
dropped at the end. SQLite stores are copies of a database migrated once per session.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from kco_sandbox.clock import FrozenClock
from kco_sandbox.outbound.merchant_http import MerchantHttp
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store, tables
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


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url: str) -> str:
    """The session's PostgreSQL database, migrated to the head revision once."""
    Store.for_url(postgres_url).close()
    return postgres_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the head revision once per session; tests get a copy.

    It is left in rollback-journal mode, so the one file holds everything (no `-wal` file to copy
    along); the store switches each copy to WAL on connecting, as it does a new database.
    """
    path = tmp_path_factory.mktemp("sqlite-template") / "kco.db"
    Store.for_url(f"sqlite:///{path}").close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    return path


def _reset(store: Store) -> None:
    """Empty every table of the schema, children before parents (alembic's own table stays)."""
    with store.engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store on each engine.

    SQLite: a copy of the session's migrated template. PostgreSQL: the session's database,
    migrated once and emptied before each test.
    """
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "kco.db"
        shutil.copyfile(template, path)
        store = Store.for_url(f"sqlite:///{path}", migrate=False)
    else:
        store = Store.for_url(request.getfixturevalue("migrated_postgres_url"), migrate=False)
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
        # Starlette's TestClient names `testserver` in `Host`; allowed here, not by default.
        allowed_hosts=("testserver",),
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A merchant's callback endpoints, answering what the test sets."""
    with Receiver().running() as running:
        yield running


@pytest.fixture(scope="session")
def merchant_http() -> Iterator[MerchantHttp]:
    """The platform's HTTP edge to merchants, as the app builds it, made once per session.

    Each new one loads the CA bundle for its TLS context (some 60 ms, most of an app's making);
    it keeps nothing between calls but its connection pool.
    """
    http = MerchantHttp()
    yield http
    http.close()


@pytest.fixture
def client(
    store: Store, clock: FrozenClock, settings: Settings, merchant_http: MerchantHttp
) -> Iterator[TestClient]:
    """The real app over a real store, authenticated as `MERCHANT`."""
    for merchant in settings.merchants:
        store.merchants.put(merchant, clock.now())
    app = create_app(settings, store, clock, list(settings.merchants), caller=merchant_http)
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
