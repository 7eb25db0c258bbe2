"""What a capture, a refund and an Order Management read cost as an order's captures grow.

In-process, no sockets: each timed call is one whole request through the ASGI app (auth,
routing, the service, the store, rendering), on a fresh SQLite file with the server's settings
and, with `--postgres URL`, on a scratch database created on that server (and dropped after).
One completed order is grown to 1, 100, 1,000 and 10,000 captures (through the service, untimed);
at each size the script times single calls, each its own request, and keeps the best of N:

- read: `GET /ordermanagement/v1/orders/{id}`, which answers every capture and refund (its size
  in bytes is printed beside it: a read can only grow with its answer), timed first;
- capture: `POST .../captures` of 0.01 SEK (each adds a capture: the size grows by N meanwhile);
- refund: `POST .../refunds` of 0.01 SEK (the refunds of the sizes before are in the reads).

    .venv/bin/python bench/capture_growth.py
    .venv/bin/python bench/capture_growth.py --postgres postgresql://user@host:5432/db

The database behind `--postgres` is only used to create the scratch database from.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management.order import CaptureRequest
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too
from bench.components import Answer, call
from bench.config import MERCHANT_PASSWORD, MERCHANT_USER, OM_ORDERS, ORDERS, SERVER_CPU
from bench.order import encoded_body

SIZES = (1, 100, 1_000, 10_000)
WRITES = 30  # timed captures and refunds at each size
READS = 10  # timed reads at each size


@dataclass(frozen=True)
class Row:
    engine: str
    captures: int
    capture_us: float
    refund_us: float
    read_us: float
    read_bytes: int


async def best_us(fn: Callable[[], Awaitable[object]], calls: int) -> float:
    """Microseconds of the fastest of `calls` single calls of `fn`."""
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        await fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e6


def expect(answer: Answer, status: int, what: str) -> Answer:
    if answer.status != status:
        raise RuntimeError(f"{what}: HTTP {answer.status}: {answer.body[:300]!r}")
    return answer


async def measure(engine: str, url: str) -> list[Row]:
    merchant = Merchant(MERCHANT_USER, MERCHANT_PASSWORD, "Your business name")
    store = Store.for_url(url)
    try:
        clock = SystemClock()
        store.merchants.put(merchant, clock.now())
        settings = Settings(database_url=url, merchants=(merchant,), log_level="warning")
        app = create_app(settings, store, clock, [merchant])
        management = app.state.ctx.management
        created = expect(await call(app, "POST", ORDERS, encoded_body()), 201, "create order")
        order_id = json.loads(created.body)["order_id"]
        expect(
            await call(app, "POST", f"/_sandbox/orders/{order_id}/complete", b"{}"),
            200,
            "complete order",
        )
        path = f"{OM_ORDERS}/{order_id}"

        async def capture() -> None:
            expect(await call(app, "POST", f"{path}/captures", b'{"captured_amount":1}'), 201, "")

        async def refund() -> None:
            expect(await call(app, "POST", f"{path}/refunds", b'{"refunded_amount":1}'), 201, "")

        async def read() -> None:
            expect(await call(app, "GET", path), 200, "read")

        rows = []
        for size in SIZES:
            have = management.get_order_summary(merchant, order_id).capture_count
            for _ in range(size - have):  # grown through the service, untimed
                management.capture(merchant, order_id, CaptureRequest(captured_amount=1))
            answer = await call(app, "GET", path)  # before this size's timed writes
            read_us = await best_us(read, READS)
            capture_us = await best_us(capture, WRITES)
            refund_us = await best_us(refund, WRITES)
            rows.append(Row(engine, size, capture_us, refund_us, read_us, len(answer.body)))
            print(f"  {engine} at {size:,} captures: done", file=sys.stderr)
        return rows
    finally:
        store.close()


@contextlib.contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    """A database of its own on `url`'s server, dropped afterwards."""
    admin_url = make_url(url).set(drivername="postgresql+psycopg")
    name = f"kco_capture_growth_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table(rows: list[Row]) -> str:
    head = (
        f"{'engine':<11}{'captures':>9}{'capture us':>12}{'refund us':>11}"
        f"{'read us':>11}{'read bytes':>12}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.engine:<11}{r.captures:>9,}{r.capture_us:>12.0f}{r.refund_us:>11.0f}"
            f"{r.read_us:>11.0f}{r.read_bytes:>12,}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="also measure on this server")
    options = parser.parse_args()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {int(SERVER_CPU)})
    folder = Path(tempfile.mkdtemp(prefix="kco-capture-growth-"))
    try:
        rows = asyncio.run(measure("sqlite", f"sqlite:///{folder / 'growth.db'}"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if options.postgres:
        with scratch_postgres(options.postgres) as url:
            rows += asyncio.run(measure("postgresql", url))
    print(f"best of {WRITES} captures and refunds and of {READS} reads, microseconds per request")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
