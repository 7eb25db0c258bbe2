"""What operators see: the access line of each request, the log formats, the health probe and the
Prometheus metrics (docs/operations.md), through the real app."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from kco_sandbox import __version__, logs
from kco_sandbox.clock import FrozenClock
from kco_sandbox.outbound.worker import Worker
from kco_sandbox.platform import build_platform, create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from tests.conftest import BASE_URL
from tests.factories import MERCHANT, make_order
from tests.receiver import Receiver, Reply

ORDERS = "/checkout/v3/orders"
ACCESS = "kco_sandbox.access"
LINE = re.compile(
    r"^(?P<method>\S+) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>\d+\.\d)ms "
    r"merchant=(?P<merchant>\S+) correlation_id=(?P<correlation_id>\S+)$"
)


def access_lines(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    found = []
    for record in caplog.records:
        if record.name == ACCESS:
            line = LINE.match(record.getMessage())
            assert line is not None, record.getMessage()
            found.append(line)
    return found


Scrape = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(client: TestClient) -> Scrape:
    """The scrape, parsed: (name, labels) → value."""
    response = client.get("/_sandbox/metrics", auth=None)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(scraped: Scrape, name: str, **labels: str) -> float | None:
    return scraped.get((name, frozenset(labels.items())))


# The access log


def test_each_request_writes_one_access_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    created = client.post(ORDERS, json=make_order())
    order_id = created.json()["order_id"]
    read = client.get(f"{ORDERS}/{order_id}?token=s3cret-in-the-query")

    first, second = access_lines(caplog)
    assert first.group("method", "path", "status", "merchant") == (
        "POST",
        ORDERS,
        "201",
        MERCHANT.merchant_id,
    )
    assert first.group("correlation_id") == created.headers["Klarna-Correlation-Id"]
    assert second.group("method", "path", "status") == ("GET", f"{ORDERS}/{order_id}", "200")
    assert second.group("correlation_id") == read.headers["Klarna-Correlation-Id"]
    assert float(second.group("ms")) >= 0
    assert "s3cret" not in caplog.text
    assert MERCHANT.api_key not in caplog.text


def test_the_merchant_is_shown_only_for_valid_credentials(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    bare_key = {"Authorization": f"Basic {MERCHANT.api_key}"}
    assert client.get(f"{ORDERS}/nope", headers=bare_key).status_code == 404
    wrong = (MERCHANT.merchant_id, "not-the-password")
    assert client.get(f"{ORDERS}/nope", auth=wrong).status_code == 401
    assert client.get(f"{ORDERS}/nope", auth=None).status_code == 401
    assert client.get("/_sandbox/health", auth=None).status_code == 200

    lines = access_lines(caplog)
    assert [(line["status"], line["merchant"]) for line in lines] == [
        ("404", MERCHANT.merchant_id),
        ("401", "-"),
        ("401", "-"),
        ("200", "-"),
    ]
    assert "not-the-password" not in caplog.text
    assert MERCHANT.api_key not in caplog.text
    encoded = base64.b64encode(f"{MERCHANT.merchant_id}:{MERCHANT.api_key}".encode()).decode()
    assert encoded not in caplog.text


def test_the_path_is_logged_as_the_client_sent_it_encoded(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    client.get("/no%0Asuch%20page")
    (line,) = access_lines(caplog)
    assert line["path"] == "/no%0Asuch%20page"


def test_no_access_line_above_info(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=ACCESS)
    client.post(ORDERS, json=make_order())
    assert [r for r in caplog.records if r.name == ACCESS] == []


# The log formats


@pytest.fixture
def root_logging() -> Iterator[io.StringIO]:
    """A stream for `logs.configure`; the root logger's handlers and level come back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    alembic = logging.getLogger("alembic").level
    yield io.StringIO()
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(alembic)


def test_the_json_format_is_one_object_per_line(
    client: TestClient, root_logging: io.StringIO
) -> None:
    logs.configure("info", "json", stream=root_logging)
    created = client.post(ORDERS, json=make_order())
    try:
        raise RuntimeError("two\nlines")
    except RuntimeError:
        logging.getLogger("kco_sandbox.test").exception("it failed:\nhere")

    entries = [json.loads(line) for line in root_logging.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == ACCESS]
    assert len(access) == 1
    (entry,) = access
    assert set(entry) == {
        "time",
        "level",
        "logger",
        "message",
        "method",
        "path",
        "status",
        "duration_ms",
        "merchant",
        "correlation_id",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert entry["level"] == "info"
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", ORDERS, 201)
    assert entry["merchant"] == MERCHANT.merchant_id
    assert entry["correlation_id"] == created.headers["Klarna-Correlation-Id"]
    assert isinstance(entry["duration_ms"], float)
    assert LINE.match(entry["message"])
    failed = next(e for e in entries if e["logger"] == "kco_sandbox.test")
    assert failed["level"] == "error"
    assert failed["message"] == "it failed:\nhere"
    assert "RuntimeError: two\nlines" in failed["exception"]


def test_the_text_format_names_level_and_logger(
    client: TestClient, root_logging: io.StringIO
) -> None:
    logs.configure("info", "text", stream=root_logging)
    client.get("/_sandbox/health")
    (line,) = [x for x in root_logging.getvalue().splitlines() if ACCESS in x]
    assert re.match(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO kco_sandbox\.access GET /_sandbox/health 200 ",
        line,
    )


def test_configure_refuses_an_unknown_format(root_logging: io.StringIO) -> None:
    with pytest.raises(ValueError, match="text, json"):
        logs.configure("info", "xml", stream=root_logging)


def test_configure_replaces_the_handlers_it_set_before(root_logging: io.StringIO) -> None:
    logs.configure("warning", "text", stream=root_logging)
    logs.configure("warning", "text", stream=root_logging)
    logging.getLogger("kco_sandbox.test").warning("once")
    logging.getLogger("kco_sandbox.test").info("not at warning")
    assert root_logging.getvalue().count("once") == 1
    assert "not at warning" not in root_logging.getvalue()


# Health


def test_health_answers_without_credentials(client: TestClient) -> None:
    response = client.get("/_sandbox/health", auth=None)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "database": "ok",
        "worker": "off",  # the test app runs no delivery worker
        "clock": "2026-01-01T12:00:00.000Z",
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Klarna-Correlation-Id"]
    # A merchant's advance moves only its own clock: health shows the platform's base clock.
    client.post("/_sandbox/clock/advance", json={"seconds": 90})
    assert client.get("/_sandbox/health").json()["clock"] == "2026-01-01T12:00:00.000Z"


def test_health_stays_on_without_the_sandbox_api(
    store: Store, clock: FrozenClock, settings: Settings
) -> None:
    off = replace(settings, sandbox_api=False)
    app = create_app(off, store, clock, list(settings.merchants))
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.get("/_sandbox/health").json()["status"] == "ok"
        assert client.get("/_sandbox/metrics").status_code == 404
        assert client.get("/_sandbox/clock").status_code == 404


def test_health_reports_the_delivery_worker(
    store: Store, clock: FrozenClock, settings: Settings
) -> None:
    platform = build_platform(settings, store, clock, list(settings.merchants))
    assert platform.worker is not None
    with TestClient(platform.app, base_url=BASE_URL) as client:
        platform.worker.start()
        try:
            alive = client.get("/_sandbox/health")
        finally:
            platform.worker.stop()
        stopped = client.get("/_sandbox/health")
    assert (alive.status_code, alive.json()["worker"]) == (200, "alive")
    # A worker this process should run but does not: callbacks would silently stay undelivered.
    assert (stopped.status_code, stopped.json()["worker"]) == (503, "stopped")
    assert stopped.json()["status"] == "unavailable"
    assert stopped.json()["database"] == "ok"

    without = build_platform(replace(settings, worker=False), store, clock, [])
    with TestClient(without.app, base_url=BASE_URL) as client:
        assert client.get("/_sandbox/health").json()["worker"] == "off"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_delivery_thread_ended_by_an_error_is_stopped() -> None:
    def broken_round() -> float:
        raise RuntimeError("not a database error: the loop does not survive it")

    worker = Worker(broken_round)
    worker.start()
    assert worker._thread is not None
    worker._thread.join(5)
    assert worker.state == "stopped"


@pytest.fixture(params=["sqlite", "postgresql"])
def doomed_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Store, Callable[[], None]]]:
    """A migrated store of its own, and how to make its database go away for good.

    SQLite: the file is deleted and a folder takes its place, so it cannot be opened again.
    PostgreSQL: the database is dropped, its connections ended.
    """
    if request.param == "sqlite":
        path = tmp_path / "doomed.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        store = Store.for_url(f"sqlite:///{path}", migrate=False)

        def vanish() -> None:
            store.close()  # the open connections go, as after a restart
            for leftover in tmp_path.glob("doomed.db*"):
                leftover.unlink()
            path.mkdir()

        yield store, vanish
        store.close()
        return
    admin_url = make_url(request.getfixturevalue("postgres_url"))
    name = f"kco_doomed_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    store = Store.for_url(admin_url.set(database=name).render_as_string(hide_password=False))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))

    try:
        yield store, drop
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_health_is_503_when_the_database_is_gone(
    doomed_store: tuple[Store, Callable[[], None]],
    clock: FrozenClock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, vanish = doomed_store
    app = create_app(settings, store, clock, list(settings.merchants))
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.get("/_sandbox/health").status_code == 200
        vanish()
        with caplog.at_level(logging.WARNING, logger="kco_sandbox.health"):
            first = client.get("/_sandbox/health")
            again = client.get("/_sandbox/health")
            scraped = samples(client)
    assert first.status_code == again.status_code == 503
    assert first.json() == {
        "status": "unavailable",
        "version": __version__,
        "database": "unreachable",
        "worker": "off",
        "clock": "2026-01-01T12:00:00.000Z",
    }
    # Said once when it stops answering, not at every probe.
    warnings = [r for r in caplog.records if r.name == "kco_sandbox.health"]
    assert [r.getMessage().startswith("database unreachable: ") for r in warnings] == [True]
    assert value(scraped, "kco_sandbox_database_up") == 0
    assert value(scraped, "kco_sandbox_callbacks_pending") is None


# Metrics


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    first = client.post(ORDERS, json=make_order()).json()["order_id"]
    second = client.post(ORDERS, json=make_order()).json()["order_id"]
    client.get(f"{ORDERS}/{first}")
    client.get(f"{ORDERS}/{second}?x=1")
    client.get("/no/such/page")
    client.get("/_sandbox/health", auth=None)

    scraped = samples(client)
    requests = "kco_sandbox_http_requests_total"
    template = f"{ORDERS}/{{order_id}}"
    assert value(scraped, requests, method="POST", route=ORDERS, status="201") == 2
    assert value(scraped, requests, method="GET", route=template, status="200") == 2
    assert value(scraped, requests, method="GET", route="unmatched", status="404") == 1
    assert value(scraped, requests, method="GET", route="/_sandbox/health", status="200") == 1
    latency = "kco_sandbox_http_request_duration_seconds_count"
    assert value(scraped, latency, method="GET", route=template) == 2
    assert value(scraped, "kco_sandbox_info", version=__version__) == 1
    routes = {dict(labels).get("route") for _, labels in scraped}
    assert not any(first in str(route) or second in str(route) for route in routes)


def test_metrics_are_counted_per_app(client: TestClient, store: Store, settings: Settings) -> None:
    client.get("/no/such/page")
    other = create_app(settings, store, FrozenClock(), list(settings.merchants))
    with TestClient(other, base_url=BASE_URL) as fresh:
        scraped = samples(fresh)
    requests = "kco_sandbox_http_requests_total"
    assert value(scraped, requests, method="GET", route="unmatched", status="404") is None
    assert value(samples(client), requests, method="GET", route="unmatched", status="404") == 1


def test_metrics_count_callback_attempts_and_the_outbox(
    client: TestClient, receiver: Receiver, clock: FrozenClock
) -> None:
    urls = make_order()["merchant_urls"] | {
        "push": receiver.url + "/push?order={checkout.order.id}"
    }
    order_id = client.post(ORDERS, json=make_order(merchant_urls=urls)).json()["order_id"]
    assert client.post(f"/_sandbox/orders/{order_id}/complete", json={}).status_code == 200

    queued = samples(client)
    assert value(queued, "kco_sandbox_callbacks_pending") == 1
    assert value(queued, "kco_sandbox_callbacks_due") == 0
    assert value(queued, "kco_sandbox_outbox_age_seconds") == 0
    attempts = "kco_sandbox_callback_attempts_total"
    assert value(queued, attempts, kind="push", outcome="sent") == 0

    clock.advance(timedelta(seconds=300))  # the first push fell due 180 s ago; none delivered it
    late = samples(client)
    assert value(late, "kco_sandbox_callbacks_due") == 1
    assert value(late, "kco_sandbox_outbox_age_seconds") == 180

    assert client.post("/_sandbox/clock/advance", json={"seconds": 0}).json()["attempted"] == 1
    receiver.on("/push", Reply(500))
    assert client.post("/_sandbox/clock/advance", json={"seconds": 300}).json()["attempted"] == 1

    sent = samples(client)
    assert len(receiver.calls("/push")) == 2
    assert value(sent, attempts, kind="push", outcome="sent") == 1
    assert value(sent, attempts, kind="push", outcome="failed") == 1
    assert value(sent, attempts, kind="notification", outcome="sent") == 0
    assert value(sent, "kco_sandbox_callbacks_pending") == 1  # pushes go on until acknowledged
    assert value(sent, "kco_sandbox_callbacks_due") == 0
    assert value(sent, "kco_sandbox_outbox_age_seconds") == 0
    assert value(sent, "kco_sandbox_database_up") == 1
