"""Profile mode (`--profile SECONDS`): where the server's time goes under one operation's load.

Prints the server's CPU time per request split between the event-loop thread and the worker
threads (exact, from /proc), then samples the server with py-spy (installed in the virtualenv)
and prints the hottest functions by self time, by time on the stack and by package. The
collapsed stacks are kept in bench/results/profile-<operation>-<timestamp>.txt.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.client import create_one, read_one
from bench.config import (
    CLIENT_CPU,
    OM_ORDERS,
    ORDERS,
    RESULTS_DIR,
    ROOT,
    VENV_BIN,
    BenchError,
    Settings,
    log,
)
from bench.load import Load, run_wrk, server_cpu
from bench.management import capture_load, complete_one, read_om_one
from bench.order import encoded_body
from bench.processes import (
    Processes,
    free_port,
    kco_server_command,
    require_alive,
    tail,
    wait_ready,
)


def profile(settings: Settings, wrk: str, procs: Processes, folder: Path) -> None:
    """Sample the server with py-spy under one operation's load; print the hottest functions."""
    py_spy = VENV_BIN / "py-spy"
    if not py_spy.exists():
        raise BenchError(f"py-spy is missing: {VENV_BIN / 'pip'} install py-spy")
    body = encoded_body()
    body_file = folder / "order.json"
    body_file.write_bytes(body)
    port = free_port()
    server_log = folder / "kco-sandbox.log"
    server = procs.start(kco_server_command(port, folder / "bench.db"), server_log)
    wait_ready(server, port, "/kco/checkout.bootstrap.js", server_log)
    operation = settings.profile_operation
    order_id = create_one(port, body)
    if operation == "read":
        read_one(port, order_id)
        load = Load(wrk, port, "GET", f"{ORDERS}/{order_id}", None, settings.profile_connections)
    elif operation == "read-om":
        complete_one(port, order_id)
        read_om_one(port, order_id)
        path = f"{OM_ORDERS}/{order_id}"
        load = Load(wrk, port, "GET", path, None, settings.profile_connections)
    elif operation == "capture":
        load, _ = capture_load(
            wrk, port, body, settings.capture_orders, settings.profile_connections, folder
        )
    else:
        load = Load(wrk, port, "POST", ORDERS, body_file, settings.profile_connections)
    run_wrk(load, max(settings.warmup, 1))
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    collapsed = RESULTS_DIR / f"profile-{operation}-{stamp}.txt"
    sampler = procs.start(
        [
            "taskset",
            "-c",
            CLIENT_CPU,
            str(py_spy),
            "record",
            "--pid",
            str(server.pid),
            "--rate",
            "200",
            "--duration",
            str(settings.profile),
            "--format",
            "raw",
            "--output",
            str(collapsed),
            "--nonblocking",
        ],
        folder / "py-spy.log",
    )
    time.sleep(0.5)
    log(f"profiling {operation} at {load.connections} connection(s) for {settings.profile}s")
    cpu_before = server_cpu(server.pid)
    raw = run_wrk(load, settings.profile)
    cpu_after = server_cpu(server.pid)
    log(f"{operation} under py-spy: {raw['requests'] / (raw['duration_us'] / 1e6):.0f} req/s")
    sampler.wait(timeout=60)
    require_alive(server, "kco-sandbox", server_log)
    if not collapsed.exists():
        raise BenchError(f"py-spy wrote nothing:\n{tail(folder / 'py-spy.log')}")
    if cpu_before is not None and cpu_after is not None and raw["requests"]:
        total = cpu_after[0] - cpu_before[0]
        loop = min(cpu_after[1] - cpu_before[1], total)
        print(
            f"server CPU (from /proc, exact): {1e6 * total / raw['requests']:.0f} us per request,"
            f" {100 * loop / total:.0f}% in the event-loop thread,"
            f" {100 * (total - loop) / total:.0f}% in worker threads"
        )
        if total - loop > 0.05 * total:
            print(
                "py-spy (below) samples the worker threads less often than they run: weigh its"
                " figures for them with this split (bench/components.py times steps exactly)"
            )
        print()
    summarize_profile(collapsed, operation)
    print(f"\ncollapsed stacks: {collapsed.relative_to(ROOT)} (flamegraph.pl / speedscope)")


def _short(frame: str) -> str:
    """A frame as py-spy names it, `fn (package/module.py:12)`, without a site-packages prefix."""
    name, _, where = frame.partition(" (")
    where = where.rsplit("site-packages/", 1)[-1]
    return f"{name} ({where}" if where else name


# Leaves of a thread that waits for work: an anyio worker on its queue, the event loop in epoll.
# py-spy samples every thread at every tick, so these are dropped to leave time spent working.
_IDLE_LEAF = re.compile(r"^(Condition\.wait \(.*threading\.py|\w*Selector\.select \()")
# Frames on more than this share of the busy samples are the server's main loop: not shown.
_TRUNK_SHARE = 0.75


def summarize_profile(collapsed: Path, operation: str, top: int = 25) -> None:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    samples = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        if _IDLE_LEAF.match(frames[-1]):
            idle += count
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
        by_package[_package_of(frames[-1])] += count
    if not samples:
        raise BenchError("the profile holds no samples")
    print(
        f"{samples} busy samples of the server under the {operation} load"
        f" ({idle} idle-thread samples left out); percentages are of the busy samples\n"
    )
    print("self time (the function a sample was taken in)")
    for frame, count in own.most_common(top):
        print(f"  {100 * count / samples:5.1f}%  {frame}")
    print(f"\ntotal time (the function is on the stack; frames on > {_TRUNK_SHARE:.0%} left out)")
    below_trunk = [(f, c) for f, c in total.most_common() if c <= _TRUNK_SHARE * samples]
    for frame, count in below_trunk[:top]:
        print(f"  {100 * count / samples:5.1f}%  {frame}")
    print("\nself time by package")
    for package, count in by_package.most_common(15):
        print(f"  {100 * count / samples:5.1f}%  {package}")


def _package_of(frame: str) -> str:
    """`fn (sqlalchemy/engine/base.py:12)` -> `sqlalchemy`; kco_sandbox keeps its sub-package."""
    path = frame.partition(" (")[2].rsplit(":", 1)[0]
    parts = path.split("/")
    if parts[0] == "kco_sandbox" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0].removesuffix(".py") or "?"
