"""What concurrent writers cost the store: commits made, wall time and CPU per write, in-process.

Threads each add checkout orders through `store.checkouts.add` (one INSERT a call, the write a
create makes), all at once, on a fresh SQLite file with the server's settings; then the same on
one thread. With group commit (`store/writer.py`) writers that queue share a transaction, so
the commits made are fewer than the writes:

    .venv/bin/python bench/group_commit.py [--threads 8] [--writes 2000] [--postgres URL]

The runs are pinned to the server's CPU, as `kco-sandbox serve` is in the benchmark;
`--all-cpus` lets them use every CPU. `--postgres URL` runs them on PostgreSQL as well, in a
database of their own made next to `URL`'s (and dropped after). CPU is the whole process's
(`time.process_time`), over every thread.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from kco_sandbox.clock import SystemClock
from kco_sandbox.domain.checkout.record import CheckoutRecord, build_order, new_record
from kco_sandbox.domain.market import markets_for
from kco_sandbox.domain.merchant import Merchant
from kco_sandbox.ids import new_uuid
from kco_sandbox.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, too
from bench.config import SERVER_CPU
from bench.order import encoded_body

MERCHANT_ID = "bench"


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    threads: int
    writes: int  # in all
    commits: int
    wall_s: float
    cpu_s: float

    @property
    def per_second(self) -> float:
        return self.writes / self.wall_s

    @property
    def cpu_us_per_write(self) -> float:
        return self.cpu_s / self.writes * 1e6


def records(count: int) -> list[CheckoutRecord]:
    """`count` new orders, made before the clock starts."""
    order = build_order({}, msgspec.json.decode(encoded_body()), markets_for(None), True)
    now = SystemClock().now()
    return [new_record(new_uuid(), MERCHANT_ID, order, now) for _ in range(count)]


def run(store: Store, name: str, threads: int, per_thread: int) -> Run:
    """`threads` threads each adding `per_thread` orders at once."""
    batches = [records(per_thread) for _ in range(threads)]
    commits = 0

    def counted(_conn: Any) -> None:
        nonlocal commits
        commits += 1  # under the writer's lock (SQLite) or the GIL: a plain count will do

    event.listen(store.engine, "commit", counted)
    start_line = threading.Barrier(threads + 1)

    failures: list[BaseException] = []

    def writer(batch: list[CheckoutRecord]) -> None:
        start_line.wait()
        try:
            for record in batch:
                store.checkouts.add(record)
        except BaseException as exc:
            failures.append(exc)
            raise

    workers = [threading.Thread(target=writer, args=(batch,)) for batch in batches]
    for worker in workers:
        worker.start()
    cpu, wall = time.process_time(), time.perf_counter()
    start_line.wait()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    event.remove(store.engine, "commit", counted)
    if failures:
        raise RuntimeError("a writer failed") from failures[0]
    return Run(name, threads, threads * per_thread, commits, wall, cpu)


def measure(url: str, engine_name: str, threads: int, per_thread: int) -> list[Run]:
    store = Store.for_url(url)
    try:
        store.merchants.put(Merchant(MERCHANT_ID, "bench-secret", "Bench"), SystemClock().now())
        run(store, "warm-up", 2, 200)
        return [
            run(store, f"{engine_name}, {threads} threads", threads, per_thread),
            run(store, f"{engine_name}, 1 thread", 1, per_thread),
        ]
    finally:
        store.close()


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database next to `url`'s, dropped afterwards."""
    admin_url = make_url(url).set(drivername="postgresql+psycopg")
    name = f"kco_bench_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--writes", type=int, default=2000, help="writes per thread")
    parser.add_argument("--postgres", help="a PostgreSQL URL to run against as well")
    parser.add_argument("--all-cpus", action="store_true", help="do not pin to the server's CPU")
    options = parser.parse_args()
    if not options.all_cpus:
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setaffinity(0, {int(SERVER_CPU)})
    folder = Path(tempfile.mkdtemp(prefix="kco-group-commit-"))
    try:
        runs = measure(
            f"sqlite:///{folder / 'group.db'}", "SQLite", options.threads, options.writes
        )
        if options.postgres:
            with scratch_database(options.postgres) as url:
                runs += measure(url, "PostgreSQL", options.threads, options.writes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{'run':<26}{'writes':>8}{'commits':>9}{'wall s':>8}{'writes/s':>10}{'CPU us/write':>14}"
    )
    print("-" * 75)
    for r in runs:
        print(
            f"{r.name:<26}{r.writes:>8}{r.commits:>9}{r.wall_s:>8.2f}{r.per_second:>10.0f}"
            f"{r.cpu_us_per_write:>14.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
