"""Does reading and creating an order cost the same with 10^3 and 10^6 orders stored?

For each size N (`--small`, default 1,000, and `--large`, default 1,000,000) a fresh SQLite file
(migrated, the server's settings) is filled with N checkout orders of one merchant, a fraction of
them (`--completed`, default 0.25) completed with their Order Management order, and each order's
timeline rows. The rows are copies of two orders made through the app itself (one created, one
created and completed with `POST /_sandbox/orders/{id}/complete`), with fresh ids and start times
spread over the past, bulk-inserted with SQLAlchemy Core (executemany, 10,000 rows a transaction).

Then, in-process through the real app (Starlette's test client, no sockets), it times
`GET /checkout/v3/orders/{id}` and `GET /ordermanagement/v1/orders/{id}` of random stored orders,
`POST /checkout/v3/orders` and the portal's orders list (first page, signed in), and prints the
median and p99 in milliseconds for both sizes and their ratio. Last, it prints SQLite's
`EXPLAIN QUERY PLAN` of every SELECT behind a checkout read, an OM read and the orders page
(captured from real requests), and whether each is an index search or a scan:

    .venv/bin/python bench/stored_data.py [--small 1000] [--large 1000000]

The numbers of a run go into bench/README.md ("Stored data").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Table, event, insert, select
from starlette.testclient import TestClient

from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from kco_sandbox.store.checkouts import _COLUMNS as CHECKOUT_COLUMNS
from kco_sandbox.store.tables import checkout_orders, om_orders, order_events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too
from bench.config import SERVER_CPU
from bench.order import order_body

MERCHANT = Merchant("bench", "bench-secret", "Bench shop")
API = (MERCHANT.merchant_id, MERCHANT.api_key)
ORDERS = "/checkout/v3/orders"
OM_ORDERS = "/ordermanagement/v1/orders"
PORTAL_ORDERS = "/portal/orders"
# The list filtered to completed orders: its rows have OM orders, so the page reads them too
# (`Checkouts.management_orders`); the newest orders, made by the create loop, are all open.
COMPLETED_PAGE = "/portal/orders?status=checkout_complete"
BATCH = 10_000
SPACING = timedelta(milliseconds=1)  # between the start times of two stored orders


class Answer(Protocol):
    """What `timed` looks at in a test client's response."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Template:
    """One order made through the app: its rows, to be copied."""

    order_id: str
    checkout: dict[str, Any]
    om: dict[str, Any] | None
    events: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Filled:
    order_ids: list[str]
    completed_ids: list[str]
    seconds: float
    database_bytes: int


@dataclass(frozen=True, slots=True)
class Timing:
    name: str
    median_ms: float
    p99_ms: float
    count: int


def _row(conn: Connection, table: Table, order_id: str) -> dict[str, Any] | None:
    found = conn.execute(select(table).where(table.c.order_id == order_id)).mappings().first()
    return dict(found) if found is not None else None


def template(client: TestClient, store: Store, *, complete: bool) -> Template:
    created = client.post(ORDERS, json=order_body(), auth=API)
    assert created.status_code == 201, created.text
    order_id: str = created.json()["order_id"]
    if complete:
        done = client.post(f"/_sandbox/orders/{order_id}/complete", json={}, auth=API)
        assert done.status_code == 200, done.text
    store.events.flush()
    with store.engine.connect() as conn:
        checkout = _row(conn, checkout_orders, order_id)
        om = _row(conn, om_orders, order_id)
        events = [
            dict(row)
            for row in conn.execute(
                select(order_events).where(order_events.c.order_id == order_id)
            ).mappings()
        ]
    assert checkout is not None
    assert (om is not None) == complete
    return Template(order_id, checkout, om, events)


def _copy(row: dict[str, Any], old_id: str, new_id: str, shift: timedelta) -> dict[str, Any]:
    """`row` for order `new_id`: the old id replaced in every text, every time moved by `shift`."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, str) and old_id in value:
            value = value.replace(old_id, new_id)
        elif isinstance(value, datetime):
            value = value + shift
        out[key] = value
    return out


def fill(
    store: Store, templates: tuple[Template, Template], count: int, completed: float
) -> Filled:
    """`count` copies of the two templates (open, completed), the newest a minute before now."""
    open_one, done_one = templates
    order_ids: list[str] = []
    completed_ids: list[str] = []
    newest = datetime.now(open_one.checkout["started_at"].tzinfo) - timedelta(minutes=1)
    every = max(1, round(1 / completed)) if completed > 0 else 0
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        rows: dict[str, list[dict[str, Any]]] = {"checkout": [], "om": [], "events": []}
        for n in range(first, min(first + BATCH, count)):
            is_done = every > 0 and n % every == 0
            source = done_one if is_done else open_one
            new_id = str(uuid.uuid4())
            at = newest - (count - n) * SPACING
            shift = at - source.checkout["started_at"]
            rows["checkout"].append(_copy(source.checkout, source.order_id, new_id, shift))
            if source.om is not None:
                rows["om"].append(_copy(source.om, source.order_id, new_id, shift))
                completed_ids.append(new_id)
            for entry in source.events:
                copied = _copy(entry, source.order_id, new_id, shift)
                del copied["event_id"]
                rows["events"].append(copied)
            order_ids.append(new_id)
        with store.engine.begin() as conn:
            conn.execute(insert(checkout_orders), rows["checkout"])
            if rows["om"]:
                conn.execute(insert(om_orders), rows["om"])
            if rows["events"]:
                conn.execute(insert(order_events), rows["events"])
    seconds = time.perf_counter() - started
    print(
        f"  ({len(open_one.events)} / {len(done_one.events)} timeline rows"
        " per open / completed order)"
    )
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # no ANALYZE: as a server runs
    path = store.engine.url.database
    assert path is not None
    return Filled(order_ids, completed_ids, seconds, os.path.getsize(path))


def timed(name: str, count: int, call: Callable[[], Answer], expect: int) -> Timing:
    """Median and p99 ms of `count` calls (after `count // 10` unmeasured ones)."""
    for _ in range(max(1, count // 10)):
        call()
    took = []
    for _ in range(count):
        started = time.perf_counter()
        response = call()
        took.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expect, (name, response.status_code, response.text[:300])
    took.sort()
    p99 = took[min(len(took) - 1, round(0.99 * (len(took) - 1)))]
    return Timing(name, statistics.median(took), p99, count)


@contextlib.contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements SQLAlchemy sends meanwhile (the raw checkout read is not among them)."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plans(
    client: TestClient, store: Store, order_id: str, om_id: str
) -> list[tuple[str, str, list[str]]]:
    """(what, SQL, plan lines) for each SELECT behind the three reads."""
    wanted: list[tuple[str, str, Any]] = [
        (
            "checkout read by id (Checkouts.get, raw driver)",
            f"SELECT {CHECKOUT_COLUMNS} FROM checkout_orders WHERE order_id = ?",
            (order_id,),
        )
    ]
    requests = [
        ("checkout read by id", f"{ORDERS}/{order_id}", True),
        ("OM read by id", f"{OM_ORDERS}/{om_id}", True),
        ("portal orders page", PORTAL_ORDERS, False),
        ("portal orders page, completed", COMPLETED_PAGE, False),
    ]
    for what, path, api in requests:
        with statements(store.engine) as seen:
            response = client.get(path, auth=API) if api else client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        for sql, params in seen:
            if sql.lstrip().upper().startswith("SELECT"):
                wanted.append((what, sql, params))
    found = []
    raw = store.engine.raw_connection()
    try:
        for what, sql, params in wanted:
            rows = raw.cursor().execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
            found.append((what, " ".join(sql.split()), [str(row[-1]) for row in rows]))
    finally:
        raw.close()
    return found


def verdict(sql: str, lines: list[str]) -> str:
    """Index search or scan; and an index search on the merchant alone without a LIMIT, which
    visits every row of the merchant however few it returns."""
    scans = [line for line in lines if line.startswith("SCAN")]
    if scans:
        return "SCAN: " + "; ".join(scans)
    if not any("USING" in line for line in lines):
        return "no table read"
    if " LIMIT " not in sql and all(line.endswith("(merchant_id=?)") for line in lines):
        return (
            "index on merchant_id only, no LIMIT: visits every row of the merchant "
            "(the other conditions are checked row by row), so it grows with the orders stored"
        )
    return "index search"


def measure(
    count: int, completed: float, rounds: dict[str, int]
) -> tuple[Filled, list[Timing], Any]:
    folder = Path(tempfile.mkdtemp(prefix="kco-stored-"))
    try:
        store = Store.for_url(f"sqlite:///{folder / 'kco.db'}", migrate=True)
        clock = SystemClock()
        store.merchants.put(MERCHANT, clock.now())
        settings = Settings(merchants=(MERCHANT,), allowed_hosts=("testserver",))
        app = create_app(settings, store, clock, [MERCHANT])
        with TestClient(app) as client:
            templates = (
                template(client, store, complete=False),
                template(client, store, complete=True),
            )
            filled = fill(store, templates, count, completed)
            print(
                f"N={count:,}: filled {count:,} orders ({len(filled.completed_ids):,} completed) "
                f"in {filled.seconds:.1f} s, file {filled.database_bytes / 2**20:,.0f} MiB",
                flush=True,
            )
            pick = random.Random(count)
            ids, done = filled.order_ids, filled.completed_ids
            body = order_body()
            signed = client.post(
                "/portal/sign-in",
                data={"username": MERCHANT.merchant_id, "password": MERCHANT.api_key},
                follow_redirects=False,
            )
            assert signed.status_code == 303, signed.text
            timings = [
                timed(
                    "GET checkout order",
                    rounds["read"],
                    lambda: client.get(f"{ORDERS}/{pick.choice(ids)}", auth=API),
                    200,
                ),
                timed(
                    "POST checkout order",
                    rounds["create"],
                    lambda: client.post(ORDERS, json=body, auth=API),
                    201,
                ),
                timed(
                    "GET OM order",
                    rounds["om"],
                    lambda: client.get(f"{OM_ORDERS}/{pick.choice(done)}", auth=API),
                    200,
                ),
                timed(
                    "portal orders, first page",
                    rounds["page"],
                    lambda: client.get(PORTAL_ORDERS),
                    200,
                ),
                timed(
                    "portal completed, 1st page",
                    rounds["completed_page"],
                    lambda: client.get(COMPLETED_PAGE),
                    200,
                ),
            ]
            for timing in timings:
                print(
                    f"  {timing.name:<28} median {timing.median_ms:7.3f} ms"
                    f"  p99 {timing.p99_ms:7.3f} ms",
                    flush=True,
                )
            found = plans(client, store, pick.choice(ids), pick.choice(done))
        store.close()
        return filled, timings, found
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--completed", type=float, default=0.25, help="share completed")
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--om-reads", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--completed-pages", type=int, default=30)
    args = parser.parse_args()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {int(SERVER_CPU)})
    rounds = {
        "read": args.reads,
        "create": args.creates,
        "om": args.om_reads,
        "page": args.pages,
        "completed_page": args.completed_pages,
    }
    small = measure(args.small, args.completed, rounds)
    large = measure(args.large, args.completed, rounds)
    print(f"\n{'request':<28} {'N':>10} {'median ms':>10} {'p99 ms':>10}")
    for (_, timings, _), count in ((small, args.small), (large, args.large)):
        for timing in timings:
            print(
                f"{timing.name:<28} {count:>10,} {timing.median_ms:>10.3f} {timing.p99_ms:>10.3f}"
            )
    print(f"\nlarge/small ({args.large:,} / {args.small:,} orders):")
    for a, b in zip(small[1], large[1], strict=True):
        print(
            f"  {a.name:<28} median x{b.median_ms / a.median_ms:.2f}"
            f"  p99 x{b.p99_ms / a.p99_ms:.2f}"
        )
    for label, (_, _, found) in (("small", small), ("large", large)):
        print(f"\nEXPLAIN QUERY PLAN ({label}):")
        for what, sql, lines in found:
            print(f"- {what}: {verdict(sql, lines)}\n    {sql}")
            for line in lines:
                print(f"      {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
