"""The load and its measurement: wrk at a fixed concurrency, and the server's CPU time.

`measure` checks the answer, warms up, runs wrk (pinned to the client CPU, with
bench/checkout.lua) and returns a `Measurement`: requests/s, latency percentiles, non-2xx
answers, socket errors and the server's CPU time per request from /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import AUTHORIZATION, CLIENT_CPU, HOST, LUA_SCRIPT, BenchError, log
from bench.processes import die_with_parent


@dataclass
class Measurement:
    operation: str
    method: str
    path: str
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    mean_ms: float
    max_ms: float
    non2xx: int
    socket_errors: dict[str, int]
    server_cpu_percent: float | None = None
    # Server CPU time per answered request: all threads, the event-loop (main) thread, the rest
    # (anyio's worker threads, where the store and the domain run).
    cpu_us_per_request: float | None = None
    loop_cpu_us_per_request: float | None = None
    worker_cpu_us_per_request: float | None = None
    ceiling_ratio: float | None = None
    ceiling: str | None = None

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())


@dataclass
class Load:
    """What wrk sends: method, path and optional body file, at a fixed concurrency.

    With `paths_file` (one path a line) each request goes to the next path in turn, round robin;
    `path` is then only the one wrk connects with and the report names.
    """

    wrk: str
    port: int
    method: str
    path: str
    body_file: Path | None
    connections: int
    server_pid: int | None = None
    paths_file: Path | None = None

    def command(self, seconds: int) -> list[str]:
        return [
            "taskset",
            "-c",
            CLIENT_CPU,
            self.wrk,
            "-t1",
            f"-c{self.connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(LUA_SCRIPT),
            f"http://{HOST}:{self.port}{self.path}",
            "--",
            self.method,
            AUTHORIZATION,
            str(self.body_file) if self.body_file is not None else "",
            str(self.paths_file) if self.paths_file is not None else "",
        ]


_RESULT_LINE = re.compile(r"^BENCH_RESULT (\{.*\})$", re.MULTILINE)


def run_wrk(load: Load, seconds: int) -> dict[str, Any]:
    command = load.command(seconds)
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        preexec_fn=die_with_parent,
    )
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    found = _RESULT_LINE.search(done.stdout)
    if found is None:
        raise BenchError(f"no BENCH_RESULT line in wrk's output:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(found.group(1))
    return result


def measure(
    operation: str,
    load: Load,
    seconds: int,
    warmup: int,
    check: Callable[[], None],
) -> Measurement:
    check()
    if warmup > 0:
        log(f"{operation}: warm-up {warmup}s")
        run_wrk(load, warmup)
    check()
    log(f"{operation}: {load.method} {load.path} for {seconds}s at {load.connections} connections")
    cpu_before = server_cpu(load.server_pid)
    raw = run_wrk(load, seconds)
    cpu_after = server_cpu(load.server_pid)
    latency = raw["latency_us"]
    duration = raw["duration_us"] / 1e6
    result = Measurement(
        operation=operation,
        method=load.method,
        path=load.path,
        connections=load.connections,
        seconds=round(duration, 3),
        requests=raw["requests"],
        rps=round(raw["requests"] / duration, 1),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        p999_ms=latency["p999"] / 1000,
        mean_ms=round(latency["mean"] / 1000, 3),
        max_ms=latency["max"] / 1000,
        non2xx=raw["non2xx"],
        socket_errors=raw["errors"],
    )
    if cpu_before is not None and cpu_after is not None and raw["requests"]:
        total = cpu_after[0] - cpu_before[0]
        loop = cpu_after[1] - cpu_before[1]
        per_request = 1e6 / raw["requests"]
        result.server_cpu_percent = round(100 * total / duration, 1)
        result.cpu_us_per_request = round(total * per_request, 1)
        result.loop_cpu_us_per_request = round(loop * per_request, 1)
        result.worker_cpu_us_per_request = round(max(total - loop, 0.0) * per_request, 1)
    return result


def _cpu_seconds(stat_file: Path) -> float:
    fields = stat_file.read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The running children of `pid`, found by their parent in `/proc/*/stat`."""
    found: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def server_cpu(pid: int | None) -> tuple[float, float] | None:
    """CPU seconds of process `pid` and its running descendants (`serve --workers N`'s server
    processes): (all threads, ended ones included; the main threads)."""
    if pid is None:
        return None
    try:
        total = _cpu_seconds(Path(f"/proc/{pid}/stat"))
        main = _cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat"))
    except (OSError, IndexError, ValueError):
        return None
    for child in _children(pid):
        below = server_cpu(child)
        if below is not None:  # else it ended meanwhile
            total, main = total + below[0], main + below[1]
    return total, main
