"""What an Order Management capture costs beside a checkout create, measured in-process.

No sockets: each timed call is one request through the whole ASGI app (auth, routing, the
service, the store, the answer), or one call of the service alone, on a fresh SQLite file with
the server's settings. Captures go round robin over `--orders` completed orders, as `bench/run`
sends them, each of 0.01 SEK with the 21-byte body `{"captured_amount":1}`. Each figure is the
best of `ROUNDS` rounds of many calls (microseconds per call). Beside the times: the SQL
statements and the transactions (COMMITs) one capture costs.

    .venv/bin/python bench/capture_cost.py
    .venv/bin/python bench/capture_cost.py --profile capture   # cProfile of the ASGI capture
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from itertools import cycle
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.domain.order_management.order import CaptureRequest
from kco_sandbox.platform import create_app
from kco_sandbox.settings import Settings
from kco_sandbox.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too
from bench.capture_growth import expect
from bench.components import call
from bench.config import MERCHANT_PASSWORD, MERCHANT_USER, OM_ORDERS, ORDERS, SERVER_CPU
from bench.order import encoded_body

ROUNDS = 5
CAPTURE_BODY = b'{"captured_amount":1}'


async def best_us(fn: Callable[[], Awaitable[object]], calls: int) -> tuple[float, float]:
    """Microseconds per call of `fn`, of CPU (all threads of the process) and of wall-clock
    time: the best of `ROUNDS` rounds of `calls` calls. CPU time is what `bench/run` reports
    per request, and is less disturbed than wall-clock time by other work on the machine."""
    for _ in range(min(calls, 100)):
        await fn()
    best_cpu = best_wall = float("inf")
    for _ in range(ROUNDS):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            await fn()
        best_cpu = min(best_cpu, (time.process_time() - cpu) / calls)
        best_wall = min(best_wall, (time.perf_counter() - wall) / calls)
    return best_cpu * 1e6, best_wall * 1e6


class Counter:
    """SQL statements and COMMITs on an engine while counting."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        self.commits = 0
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.on:
            self.statements.append(" ".join(statement.split())[:90])

    def _commit(self, _conn: Any) -> None:
        if self.on:
            self.commits += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        self.statements.clear()
        self.commits = 0
        self.on = True
        try:
            yield
        finally:
            self.on = False


async def measure(folder: Path, orders: int, calls: int, profile: str | None) -> None:
    merchant = Merchant(MERCHANT_USER, MERCHANT_PASSWORD, "Your business name")
    url = f"sqlite:///{folder / 'capture_cost.db'}"
    store = Store.for_url(url)
    try:
        clock = SystemClock()
        store.merchants.put(merchant, clock.now())
        settings = Settings(database_url=url, merchants=(merchant,), log_level="warning")
        app = create_app(settings, store, clock, [merchant])
        management = app.state.ctx.management
        body = encoded_body()
        order_ids = []
        for _ in range(orders):
            created = expect(await call(app, "POST", ORDERS, body), 201, "create order")
            order_id = json.loads(created.body)["order_id"]
            path = f"/_sandbox/orders/{order_id}/complete"
            expect(await call(app, "POST", path, b"{}"), 200, "complete order")
            order_ids.append(order_id)
        paths = cycle([f"{OM_ORDERS}/{order_id}/captures" for order_id in order_ids])
        ids = cycle(order_ids)
        request = CaptureRequest(captured_amount=1)

        async def capture() -> None:
            answer = await call(app, "POST", next(paths), CAPTURE_BODY)
            if answer.status != 201 or "capture-id" not in answer.headers:
                raise RuntimeError(f"capture: HTTP {answer.status}: {answer.body[:300]!r}")

        async def create() -> None:
            expect(await call(app, "POST", ORDERS, body), 201, "create order")

        async def service_capture() -> None:
            management.capture(merchant, next(ids), request)

        async def service_create() -> None:
            app.state.ctx.checkout.create_order(merchant, json.loads(body))

        if profile:
            fn = {"capture": capture, "create": create, "service-capture": service_capture}
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(calls * 3):
                await fn[profile]()
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats("cumulative")
            stats.print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
            return

        counter = Counter(store.engine)
        with counter.counting():
            await capture()
            await asyncio.sleep(0)
        capture_sql = list(counter.statements)
        capture_commits = counter.commits
        with counter.counting():
            await create()
        create_sql = list(counter.statements)
        create_commits = counter.commits

        rows = [
            ("ASGI create (POST /checkout/v3/orders)", await best_us(create, calls)),
            ("ASGI capture (POST .../captures)", await best_us(capture, calls)),
            ("service create_order", await best_us(service_create, calls)),
            ("service capture", await best_us(service_capture, calls)),
        ]
        print(
            f"best of {ROUNDS} rounds of {calls} calls; captures round robin over {orders} orders"
        )
        print(f"{'step':<44}{'cpu us':>10}{'wall us':>10}")
        print("-" * 64)
        for name, (cpu, wall) in rows:
            print(f"{name:<44}{cpu:>10.1f}{wall:>10.1f}")
        cpu_ratio, wall_ratio = rows[1][1][0] / rows[0][1][0], rows[1][1][1] / rows[0][1][1]
        print(f"{'capture / create (ASGI)':<44}{cpu_ratio:>10.2f}{wall_ratio:>10.2f}")
        print(f"\ncapture: {len(capture_sql)} SQL statements, {capture_commits} COMMIT(s)")
        for statement in capture_sql:
            print(f"  {statement}")
        print(f"create: {len(create_sql)} SQL statements, {create_commits} COMMIT(s)")
        for statement in create_sql:
            print(f"  {statement}")
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300, help="completed orders to capture")
    parser.add_argument("--calls", type=int, default=1000, help="calls per round")
    parser.add_argument(
        "--profile",
        choices=("capture", "create", "service-capture"),
        help="print a cProfile of this instead of the table",
    )
    options = parser.parse_args()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {int(SERVER_CPU)})
    folder = Path(tempfile.mkdtemp(prefix="kco-capture-cost-"))
    try:
        asyncio.run(measure(folder, options.orders, options.calls, options.profile))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
