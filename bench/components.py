"""What each step of create and read order costs, measured in-process on one core.

No sockets and no profiler: each building block of the request path is called in a loop and
timed (microseconds per call, the best of three rounds), on a fresh SQLite file with the server's
settings. Together with the HTTP ceiling of checkout_bench.py this says where a request's time
goes:

    .venv/bin/python bench/components.py

The steps call the project's own functions, so a renamed one makes this script fail loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import msgspec
from starlette.applications import Starlette
from starlette.types import Message

from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.checkout.record import CheckoutRecord, build_order, new_record
from kco_sandbox.domain.market import markets_for
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import new_uuid
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store
from kco_sandbox.web.api.checkout_render import render_order

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too
from bench.config import (
    AUTHORIZATION,
    MERCHANT_PASSWORD,
    MERCHANT_USER,
    ORDERS,
    RESULTS_DIR,
    ROOT,
    SERVER_CPU,
)
from bench.environment import source_commit
from bench.order import encoded_body

ROUNDS = 3
AT_ONCE = 8
BASE_URL = "http://127.0.0.1:8000"


def best_us(fn: Callable[[], object], calls: int) -> float:
    """Microseconds per call of `fn`: the best of `ROUNDS` rounds of `calls` calls."""
    for _ in range(min(calls, 200)):
        fn()
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


async def best_us_async(fn: Callable[[], Awaitable[object]], calls: int) -> float:
    for _ in range(min(calls, 200)):
        await fn()
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(calls):
            await fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def http_scope(method: str, path: str, body_length: int) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", AUTHORIZATION.encode())]
    if body_length:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(body_length).encode()),
        ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


async def call(app: Starlette, method: str, path: str, body: bytes = b"") -> Answer:
    """One request through the whole ASGI app (middleware, routing, handler); its answer."""
    delivered = False
    start: Message = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # a client that stays connected
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(http_scope(method, path, len(body)), receive, send)
    headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    return Answer(int(start.get("status", 0)), headers, b"".join(chunks))


async def call_app(app: Starlette, method: str, path: str, body: bytes) -> int:
    """One request through the whole ASGI app; its status."""
    return (await call(app, method, path, body)).status


def raw_sqlite_baseline(
    database: Path, stored: CheckoutRecord, document: str
) -> list[tuple[str, float]]:
    """The same SELECT and INSERT through the sqlite3 module alone: the floor under the store."""
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA synchronous=NORMAL")
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")

    def select() -> None:
        db.execute("BEGIN")
        db.execute(
            "SELECT * FROM checkout_orders WHERE order_id = ?", (stored.order_id,)
        ).fetchone()
        db.execute("COMMIT")

    def insert() -> None:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO checkout_orders (order_id, merchant_id, status, version, document,"
            " started_at, last_modified_at, completed_at, expires_at)"
            " VALUES (?, ?, ?, 1, ?, ?, ?, NULL, ?)",
            (new_uuid(), stored.merchant_id, stored.status.value, document, now, now, now),
        )
        db.execute("COMMIT")

    try:
        return [
            ("  floor: sqlite3 BEGIN; SELECT; COMMIT", best_us(select, 5000)),
            ("  floor: sqlite3 BEGIN IMMEDIATE; INSERT; COMMIT", best_us(insert, 2000)),
        ]
    finally:
        db.close()


def measure(folder: Path) -> list[tuple[str, float]]:
    merchant = Merchant(MERCHANT_USER, MERCHANT_PASSWORD, "Your business name")
    url = f"sqlite:///{folder / 'components.db'}"
    store = Store.for_url(url)
    clock = SystemClock()
    store.merchants.put(merchant, clock.now())
    settings = Settings(database_url=url, merchants=(merchant,), log_level="warning")
    app = create_app(settings, store, clock, [merchant])
    ctx = app.state.ctx
    body = encoded_body()
    document = msgspec.json.decode(body)
    markets = markets_for(None)
    order = build_order({}, document, markets, True)
    encode = msgspec.json.Encoder().encode

    def fresh_record() -> CheckoutRecord:
        return new_record(new_uuid(), merchant.merchant_id, order, clock.now())

    stored = fresh_record()
    store.checkouts.add(stored)
    steps: list[tuple[str, Callable[[], object], int]] = [
        ("auth: Authenticator.merchant_for", lambda: ctx.auth.merchant_for(AUTHORIZATION), 5000),
        ("decode the body (msgspec)", lambda: msgspec.json.decode(body), 5000),
        (
            "build_order (convert + validate)",
            lambda: build_order({}, document, markets, True),
            5000,
        ),
        ("new_uuid", new_uuid, 5000),
        (
            "store.add_checkout (one INSERT + COMMIT)",
            lambda: store.checkouts.add(fresh_record()),
            2000,
        ),
        (
            "service.create_order (all of the above)",
            lambda: ctx.checkout.create_order(merchant, document),
            2000,
        ),
        ("store.get_checkout (one SELECT)", lambda: store.checkouts.get(stored.order_id), 5000),
        (
            "service.read_order",
            lambda: ctx.checkout.read_order(merchant, stored.order_id),
            5000,
        ),
        (
            "render_order + encode (the ~4 KB answer)",
            lambda: encode(render_order(stored, BASE_URL, merchant.name)),
            5000,
        ),
    ]
    rows = [(name, best_us(fn, calls)) for name, fn, calls in steps]
    rows += raw_sqlite_baseline(folder / "components.db", stored, encode(order).decode())

    async def in_loop() -> list[tuple[str, float]]:
        async def hop() -> None:
            await anyio.to_thread.run_sync(lambda: None)

        async def create() -> None:
            if await call_app(app, "POST", ORDERS, body) != 201:
                raise RuntimeError("in-process create did not answer 201")

        async def read() -> None:
            if await call_app(app, "GET", f"{ORDERS}/{stored.order_id}", b"") != 200:
                raise RuntimeError("in-process read did not answer 200")

        async def creates_at_once() -> None:
            # 8 at once, as the benchmark's 8 connections: each writes on the event loop when it
            # finds the writer free, else in a worker thread (`AppContext.write_local`).
            await asyncio.gather(*(create() for _ in range(AT_ONCE)))

        at_once = await best_us_async(creates_at_once, 250) / AT_ONCE
        return [
            ("anyio to_thread.run_sync round trip (no work)", await best_us_async(hop, 3000)),
            ("ASGI app in-process: create (no HTTP/socket)", await best_us_async(create, 2000)),
            (f"ASGI app in-process: {AT_ONCE} creates at once, per create", at_once),
            ("ASGI app in-process: read (no HTTP/socket)", await best_us_async(read, 3000)),
        ]

    rows += asyncio.run(in_loop())
    store.close()
    return rows


def main() -> int:
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {int(SERVER_CPU)})
    folder = Path(tempfile.mkdtemp(prefix="kco-components-"))
    try:
        rows = measure(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'step':<48}{'us/call':>10}")
    print("-" * 58)
    for name, micros in rows:
        print(f"{name:<48}{micros:>10.1f}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"components-{stamp}.json"
    report = {
        "timestamp": stamp,
        "commit": source_commit(),
        "cpu": int(SERVER_CPU),
        "microseconds_per_call": {name: round(micros, 1) for name, micros in rows},
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
