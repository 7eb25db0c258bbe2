"""Callback delivery (`bench/run --callbacks N`): how fast the outbox sends pushes, how late.

A fast receiver (bench/callback_receiver.py, asyncio, pinned to the client CPU) stands in for the
merchant; `kco-sandbox serve` runs pinned to the server CPU with a fresh SQLite file and its
delivery worker on (the default). Two runs, each on a server of its own:

1. **advance**: N orders are completed, each queuing a push (the vendor schedule: first attempt
   2 minutes after the purchase) to the receiver; then one `POST /_sandbox/clock/advance
   {"seconds": 120}` makes all N due at once, and answers once each has been attempted. Measured:
   deliveries per second (attempts / wall time of the advance), the server's CPU per delivery,
   and when each push reached the receiver after the advance began (p50/p99: its place in the
   queue).
2. **real time**: the server runs with `--push-schedule GAP,86400` and no clock advance; N orders
   are completed one after another, so their pushes fall due GAP seconds later at the rate the
   orders were completed. Measured: each push's arrival at the receiver minus its due time
   (`starts_at` + GAP, read from the database afterwards; the platform clock is the wall clock
   here), p50/p90/p99/max.

Both runs check that every order got exactly one push; anything else stops the bench.

With `--callbacks-profile` the advance run's server has `--no-worker` (the advance alone delivers,
on one thread) and py-spy samples it during the advance; the hottest functions are printed.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.client import call, expect
from bench.config import (
    CLIENT_CPU,
    HOST,
    RESULTS_DIR,
    ROOT,
    SERVER_CPU,
    VENV_BIN,
    BenchError,
    Settings,
    log,
)
from bench.environment import filesystem_of, machine_info, source_commit
from bench.load import server_cpu
from bench.management import completed_orders
from bench.order import order_body
from bench.processes import (
    Processes,
    free_port,
    kco_server_command,
    require_alive,
    tail,
    wait_ready,
)
from bench.profiling import summarize_profile

RECEIVER = Path(__file__).resolve().parent / "callback_receiver.py"
ADVANCE_SECONDS = 120  # the vendor schedule's first push


def callback_body(receiver_port: int) -> bytes:
    """The bench order, its push going to the receiver."""
    order = order_body()
    order["merchant_urls"]["push"] = (
        f"http://{HOST}:{receiver_port}/push?order={{checkout.order.id}}"
    )
    return json.dumps(order, separators=(",", ":")).encode()


def start_receiver(procs: Processes, folder: Path) -> int:
    port = free_port()
    log_file = folder / "receiver.log"
    command = ["taskset", "-c", CLIENT_CPU, str(VENV_BIN / "python"), str(RECEIVER)]
    receiver = procs.start([*command, "--port", str(port)], log_file)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        require_alive(receiver, "callback receiver", log_file)
        with contextlib.suppress(OSError):
            if call(port, "GET", "/_arrivals", timeout=1.0).status == 200:
                return port
        time.sleep(0.05)
    raise BenchError(f"the callback receiver did not start:\n{tail(log_file)}")


def arrivals(port: int) -> list[tuple[float, str]]:
    reply = call(port, "GET", "/_arrivals", timeout=30.0)
    expect(reply, 200, "receiver arrivals")
    return [(float(t), str(target)) for t, target in reply.json()]


def pushes_by_order(port: int, expected: list[str]) -> dict[str, float]:
    """Each order's push arrival time; stops the bench unless each order got exactly one."""
    seen: dict[str, float] = {}
    for arrived, target in arrivals(port):
        order_id = parse_qs(urlsplit(target).query)["order"][0]
        if order_id in seen:
            raise BenchError(f"order {order_id} got more than one push")
        seen[order_id] = arrived
    if set(seen) != set(expected):
        missing = len(set(expected) - set(seen))
        raise BenchError(f"{missing} of {len(expected)} orders got no push")
    return seen


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)

    return {
        "min": round(ordered[0], 1),
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": round(ordered[-1], 1),
    }


def start_server(
    procs: Processes, folder: Path, name: str, extra: list[str]
) -> tuple[Any, int, Path]:
    port = free_port()
    database = folder / f"{name}.db"
    log_file = folder / f"{name}.log"
    server = procs.start([*kco_server_command(port, database), *extra], log_file)
    wait_ready(server, port, "/kco/checkout.bootstrap.js", log_file)
    return server, port, database


def complete(port: int, body: bytes, count: int) -> tuple[list[str], float]:
    began = time.monotonic()
    order_ids = completed_orders(port, body, count)
    return order_ids, time.monotonic() - began


def run_advance(
    settings: Settings, procs: Processes, folder: Path, receiver: int
) -> dict[str, Any]:
    n = settings.callbacks
    call(receiver, "POST", "/_reset", b"")
    # Profiled, only the advance delivers (no worker thread): one thread, whose samples are work.
    extra = ["--no-worker"] if settings.callbacks_profile else []
    server, port, _ = start_server(procs, folder, "advance", extra)
    log(f"advance: completing {n} orders (pushes to the receiver, first one 2 minutes later)")
    order_ids, completing = complete(port, callback_body(receiver), n)
    if arrivals(receiver):
        raise BenchError("advance: a push arrived before the clock moved")
    sampler = start_sampler(procs, folder, server.pid) if settings.callbacks_profile else None
    log(f"advance: POST /_sandbox/clock/advance {{'seconds': {ADVANCE_SECONDS}}}")
    cpu_before = server_cpu(server.pid)
    began = time.time()
    reply = call(
        port, "POST", "/_sandbox/clock/advance", b'{"seconds":%d}' % ADVANCE_SECONDS, 600.0
    )
    wall = time.time() - began
    cpu_after = server_cpu(server.pid)
    if sampler is not None:
        stop_sampler(*sampler)
    expect(reply, 200, "clock advance")
    attempted = int(reply.json()["attempted"])
    if attempted != n:
        raise BenchError(f"advance: {attempted} attempts for {n} due pushes")
    seen = pushes_by_order(receiver, order_ids)
    require_alive(server, "kco-sandbox", folder / "advance.log")
    procs.stop(server)
    result: dict[str, Any] = {
        "orders": n,
        "completed_per_second": round(n / completing, 1),
        "attempted": attempted,
        "advance_seconds": round(wall, 3),
        "deliveries_per_second": round(attempted / wall, 1),
        "after_advance_ms": percentiles([(t - began) * 1000 for t in seen.values()]),
    }
    if cpu_before is not None and cpu_after is not None:
        cpu = cpu_after[0] - cpu_before[0]
        result["server_cpu_percent"] = round(100 * cpu / wall, 1)
        result["cpu_us_per_delivery"] = round(cpu * 1e6 / attempted, 1)
    return result


def start_sampler(
    procs: Processes, folder: Path, pid: int
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """py-spy recording the server until `stop_sampler` (`--callbacks-profile`)."""
    py_spy = VENV_BIN / "py-spy"
    if not py_spy.exists():
        raise BenchError(f"py-spy is missing: {VENV_BIN / 'pip'} install py-spy")
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    collapsed = RESULTS_DIR / f"profile-callbacks-{stamp}.txt"
    command = ["taskset", "-c", CLIENT_CPU, str(py_spy), "record", "--pid", str(pid)]
    command += ["--rate", "200", "--format", "raw", "--output", str(collapsed), "--nonblocking"]
    sampler = procs.start(command, folder / "py-spy.log")
    time.sleep(1.0)  # py-spy attaches
    return sampler, collapsed, folder / "py-spy.log"


def stop_sampler(sampler: subprocess.Popen[bytes], collapsed: Path, log_file: Path) -> None:
    """Stop py-spy (SIGINT: it writes its stacks) and print the hottest functions."""
    sampler.send_signal(signal.SIGINT)
    sampler.wait(timeout=60)
    if not collapsed.exists():
        raise BenchError(f"py-spy wrote nothing:\n{tail(log_file)}")
    summarize_profile(collapsed, "callback delivery")
    print(f"\ncollapsed stacks: {collapsed.relative_to(ROOT)}\n")


def due_times(database: Path, gap: float) -> dict[str, float]:
    """Each order's first push due time (epoch seconds): `starts_at` + the first gap."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute(
            "SELECT order_id, starts_at FROM callbacks WHERE kind = 'push'"
        ).fetchall()
    return {
        order_id: datetime.fromisoformat(starts_at).replace(tzinfo=UTC).timestamp() + gap
        for order_id, starts_at in rows
    }


def run_real_time(
    settings: Settings, procs: Processes, folder: Path, receiver: int
) -> dict[str, Any]:
    n, gap = settings.callbacks, settings.callbacks_gap
    call(receiver, "POST", "/_reset", b"")
    schedule = f"{gap:g},86400"
    server, port, database = start_server(procs, folder, "real-time", ["--push-schedule", schedule])
    log(f"real time: --push-schedule {schedule}; completing {n} orders")
    cpu_before = server_cpu(server.pid)
    order_ids, completing = complete(port, callback_body(receiver), n)
    deadline = time.monotonic() + gap + 60
    while len(arrivals(receiver)) < n and time.monotonic() < deadline:
        require_alive(server, "kco-sandbox", folder / "real-time.log")
        time.sleep(0.5)
    cpu_after = server_cpu(server.pid)
    seen = pushes_by_order(receiver, order_ids)
    procs.stop(server)
    due = due_times(database, gap)
    delays = [(seen[order_id] - due[order_id]) * 1000 for order_id in order_ids]
    spread = max(due.values()) - min(due.values())
    result: dict[str, Any] = {
        "orders": n,
        "push_schedule": schedule,
        "completed_per_second": round(n / completing, 1),
        "due_per_second": round(n / spread, 1) if spread else None,
        "late_ms": percentiles(delays),
    }
    if cpu_before is not None and cpu_after is not None:
        result["server_cpu_seconds"] = round(cpu_after[0] - cpu_before[0], 2)
    return result


def callback_benchmark(settings: Settings, procs: Processes, folder: Path) -> dict[str, Any]:
    log(f"callback receiver on CPU {CLIENT_CPU}, kco-sandbox on CPU {SERVER_CPU}")
    receiver = start_receiver(procs, folder)
    advance = run_advance(settings, procs, folder, receiver)
    real_time = run_real_time(settings, procs, folder, receiver)
    return {
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kind": "callbacks",
        "machine": machine_info(),
        "kco_sandbox_commit": source_commit(),
        "filesystem": filesystem_of(folder),
        "advance": advance,
        "real_time": real_time,
    }


def print_callback_report(report: dict[str, Any]) -> None:
    a, r = report["advance"], report["real_time"]
    after = a["after_advance_ms"]
    print(f"advance {ADVANCE_SECONDS} s over {a['orders']} due pushes:")
    print(
        f"  {a['attempted']} attempts in {a['advance_seconds']:.2f} s: "
        f"{a['deliveries_per_second']:.0f} deliveries/s, "
        f"{a.get('cpu_us_per_delivery', '-')} us server CPU each "
        f"(server CPU {a.get('server_cpu_percent', '-')} %)"
    )
    print(
        f"  arrival after the advance began, ms: p50 {after['p50']}, p99 {after['p99']}, "
        f"max {after['max']}"
    )
    late = r["late_ms"]
    print(f"real time, --push-schedule {r['push_schedule']}, {r['orders']} orders:")
    print(
        f"  completed {r['completed_per_second']:.0f} orders/s, so pushes fell due at "
        f"{r['due_per_second']}/s"
    )
    print(
        f"  arrival minus due time, ms: min {late['min']}, p50 {late['p50']}, p90 {late['p90']}, "
        f"p99 {late['p99']}, max {late['max']}"
    )
