"""Throughput and latency of the Checkout API on one server core, against a bare-stack ceiling.

What it does (see bench/README.md):

1. starts `kco-sandbox serve` pinned to CPU 0, on a free loopback port, with a fresh SQLite file
   (default settings: WAL, synchronous=NORMAL) in a temporary folder;
2. runs wrk pinned to CPU 1 at 8 connections: create order (POST /checkout/v3/orders with a
   ~1.5 KB body) and read order (GET /checkout/v3/orders/{id});
3. starts a bare ASGI app on the same uvicorn/h11 stack, pinned to CPU 0, and measures POST with
   the same body and GET at the same concurrency: the ceiling;
4. prints a table and writes it as JSON to bench/results/<timestamp>.json.

Each measured run is preceded by one request whose status is checked (201 or 200) and by a short
warm-up. Every process started here is stopped on the way out, on errors and signals too.

With `--profile SECONDS` it instead loads the server with create (or, with `--profile-operation
read`, read) requests, prints the server's CPU time per request split between the event-loop
thread and the worker threads (exact, from /proc), and samples it with py-spy (which must be
installed in the virtualenv) for the hottest functions.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import http.client
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = ROOT / ".venv" / "bin"
LUA_SCRIPT = BENCH_DIR / "checkout.lua"
CEILING_APP = BENCH_DIR / "ceiling_app.py"
RESULTS_DIR = BENCH_DIR / "results"

SERVER_CPU = "0"
CLIENT_CPU = "1"
HOST = "127.0.0.1"
ORDERS = "/checkout/v3/orders"
MERCHANT_USER = "bench"
MERCHANT_PASSWORD = "bench-secret"
AUTHORIZATION = (
    "Basic " + base64.b64encode(f"{MERCHANT_USER}:{MERCHANT_PASSWORD}".encode()).decode()
)

# The goals: on one server core with durable SQLite, at 8 concurrent clients.
TARGETS: dict[str, dict[str, float]] = {
    "create": {"min_rps": 2000.0, "max_p99_ms": 20.0},
    "read": {"min_rps": 4000.0, "max_p99_ms": 20.0},
}
VERSIONED_PACKAGES = ("uvicorn", "starlette", "h11", "msgspec", "sqlalchemy", "anyio")


class BenchError(RuntimeError):
    """Something that makes the numbers meaningless: stop and say why."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the order body


def _tax(total_amount: int, tax_rate: int) -> int:
    """The tax included in `total_amount` at `tax_rate` (1/100 %), rounded to the minor unit."""
    return round(total_amount * tax_rate / (10000 + tax_rate))


def _line(
    *,
    kind: str,
    reference: str,
    name: str,
    quantity: int,
    unit_price: int,
    tax_rate: int,
    discount: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    total = quantity * unit_price - discount
    return {
        "type": kind,
        "reference": reference,
        "name": name,
        "quantity": quantity,
        "quantity_unit": "st",
        "unit_price": unit_price,
        "tax_rate": tax_rate,
        "total_amount": total,
        "total_discount_amount": discount,
        "total_tax_amount": _tax(total, tax_rate),
        **extra,
    }


def order_body() -> dict[str, Any]:
    """A Swedish web-shop order: two products, shipping and a discount code (~1.5 KB)."""
    shop = "https://shop.example"
    lines = [
        _line(
            kind="physical",
            reference="SW-1042-NAVY-M",
            name="Merinoulltröja, marinblå, M",
            quantity=2,
            unit_price=89900,
            tax_rate=2500,
            discount=10000,
            product_url=f"{shop}/p/merinoulltroja",
            product_identifiers={
                "brand": "Fjällull",
                "category_path": "Kläder > Tröjor > Ull",
                "global_trade_item_number": "7350012345678",
            },
        ),
        _line(
            kind="physical",
            reference="SK-220-GRY",
            name="Ullstrumpor 3-pack, grå",
            quantity=3,
            unit_price=14900,
            tax_rate=2500,
            product_url=f"{shop}/p/ullstrumpor",
        ),
        _line(
            kind="shipping_fee",
            reference="SHIP-PN-HOME",
            name="PostNord Hemleverans",
            quantity=1,
            unit_price=4900,
            tax_rate=2500,
        ),
        _line(
            kind="discount",
            reference="HOST10",
            name="Rabattkod HOST10",
            quantity=1,
            unit_price=-5000,
            tax_rate=2500,
        ),
    ]
    return {
        "purchase_country": "SE",
        "purchase_currency": "SEK",
        "locale": "sv-SE",
        "order_amount": sum(line["total_amount"] for line in lines),
        "order_tax_amount": sum(line["total_tax_amount"] for line in lines),
        "order_lines": lines,
        "merchant_reference1": "SO-2024-000123",
        "merchant_urls": {
            "terms": f"{shop}/villkor",
            "checkout": f"{shop}/kassa?order_id={{checkout.order.id}}",
            "confirmation": f"{shop}/bekraftelse?order_id={{checkout.order.id}}",
            "push": f"{shop}/api/kco/push?order_id={{checkout.order.id}}",
        },
    }


def encoded_body() -> bytes:
    """The body as a client sends it: compact UTF-8 JSON."""
    return json.dumps(order_body(), ensure_ascii=False, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- processes


def _die_with_parent() -> None:
    """In a child: get SIGTERM when the bench process dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class Processes:
    """The servers this run started; `stop_all` ends each of them, by its own process group."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[bytes]] = []

    def start(self, args: Sequence[str], log_file: Path) -> subprocess.Popen[bytes]:
        with log_file.open("wb") as out:
            process = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._started.append(process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)

    def stop_all(self) -> None:
        for process in reversed(self._started):
            self.stop(process)


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    log(f"stopped by signal {signal.Signals(signum).name}: stopping the servers")
    raise SystemExit(128 + signum)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    port: int, method: str, path: str, body: bytes | None = None, timeout: float = 10.0
) -> Reply:
    headers = {"Authorization": AUTHORIZATION}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        conn.close()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(
    process: subprocess.Popen[bytes], port: int, path: str, log_file: Path, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"server exited with {process.returncode}:\n{tail(log_file)}")
        try:
            if call(port, "GET", path, timeout=1.0).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise BenchError(f"server not answering on port {port} after {timeout}s:\n{tail(log_file)}")


def require_alive(process: subprocess.Popen[bytes], name: str, log_file: Path) -> None:
    if process.poll() is not None:
        raise BenchError(f"{name} died with {process.returncode}:\n{tail(log_file)}")


# --------------------------------------------------------------------------- checks before runs


def expect(reply: Reply, status: int, what: str) -> None:
    if reply.status != status:
        raise BenchError(
            f"{what}: expected HTTP {status}, got {reply.status}: {reply.body[:500]!r}"
        )
    if "content-type" not in reply.headers:
        raise BenchError(f"{what}: the answer has no Content-Type header")


def create_one(port: int, body: bytes) -> str:
    """Create an order, check the answer, return its id."""
    reply = call(port, "POST", ORDERS, body)
    expect(reply, 201, "create order")
    order_id = reply.json().get("order_id")
    if not isinstance(order_id, str) or not reply.headers.get("location", "").endswith(order_id):
        raise BenchError(f"create order: no order_id/Location in the answer: {reply.body[:300]!r}")
    return order_id


def check_create(port: int, body: bytes) -> None:
    create_one(port, body)


def read_one(port: int, order_id: str) -> None:
    reply = call(port, "GET", f"{ORDERS}/{order_id}")
    expect(reply, 200, "read order")
    if reply.json().get("order_id") != order_id:
        raise BenchError(f"read order: another order came back: {reply.body[:300]!r}")


# --------------------------------------------------------------------------- wrk


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
    """What wrk sends: method, path and optional body file, at a fixed concurrency."""

    wrk: str
    port: int
    method: str
    path: str
    body_file: Path | None
    connections: int
    server_pid: int | None = None

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
        ]


_RESULT_LINE = re.compile(r"^BENCH_RESULT (\{.*\})$", re.MULTILINE)


def run_wrk(load: Load, seconds: int) -> dict[str, Any]:
    command = load.command(seconds)
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        preexec_fn=_die_with_parent,
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


def server_cpu(pid: int | None) -> tuple[float, float] | None:
    """CPU seconds of process `pid`: (all threads, ended ones included; its main thread)."""
    if pid is None:
        return None
    try:
        return (
            _cpu_seconds(Path(f"/proc/{pid}/stat")),
            _cpu_seconds(Path(f"/proc/{pid}/task/{pid}/stat")),
        )
    except (OSError, IndexError, ValueError):
        return None


# --------------------------------------------------------------------------- the environment


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise BenchError(
            "wrk is not installed: install it (Debian/Ubuntu: sudo apt-get install wrk)"
        )
    log("wrk is missing: apt-get install -y wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(install, env=env, check=True)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("apt-get installed wrk but it is not on PATH")
    return found


def check_machine() -> None:
    if shutil.which("taskset") is None:
        raise BenchError("taskset is missing (Debian: util-linux)")
    cpus = os.sched_getaffinity(0)
    if not {int(SERVER_CPU), int(CLIENT_CPU)} <= cpus:
        raise BenchError(f"CPUs {SERVER_CPU} and {CLIENT_CPU} are needed; allowed: {sorted(cpus)}")
    for program in ("kco-sandbox", "python"):
        if not (VENV_BIN / program).exists():
            raise BenchError(f"{VENV_BIN / program} is missing: install the project into .venv")


def _first(path: str, key: str) -> str:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    return "unknown"


def filesystem_of(path: Path) -> str:
    """The file system type holding `path`, from /proc/self/mounts (longest mount point)."""
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        resolved = str(path.resolve())
        for line in Path("/proc/self/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) < 3:
                continue
            mount = parts[1].replace("\\040", " ")
            inside = resolved == mount or resolved.startswith(mount.rstrip("/") + "/")
            if inside and len(mount) > len(best):
                best, kind = mount, parts[2]
    return kind


def machine_info() -> dict[str, Any]:
    mem_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "memory_gib": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else None,
        "kernel": platform.release(),
        "server_cpu": int(SERVER_CPU),
        "client_cpu": int(CLIENT_CPU),
    }


def versions(wrk: str) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "missing"
    found["sqlite"] = sqlite3.sqlite_version
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()
    found["wrk"] = first[0].split(" [")[0].removeprefix("wrk ") if first else "unknown"
    found["kco_sandbox_commit"] = source_commit()
    return found


def source_commit() -> str:
    """The checked-out commit, with `+dirty` when src/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def inspect_database(path: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
        (rows,) = db.execute("SELECT count(*) FROM checkout_orders").fetchone()
    return {"journal_mode": mode, "synchronous": "NORMAL (default)", "orders_stored": rows}


# --------------------------------------------------------------------------- the run


@dataclass
class Settings:
    seconds: int
    warmup: int
    connections: int
    tmp_dir: Path | None
    keep_tmp: bool
    profile: int
    profile_operation: str
    profile_connections: int


def kco_server_command(port: int, database: Path) -> list[str]:
    return [
        "taskset",
        "-c",
        SERVER_CPU,
        str(VENV_BIN / "kco-sandbox"),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{database}",
        "--merchant",
        f"{MERCHANT_USER}:{MERCHANT_PASSWORD}",
        "--log-level",
        "warning",
    ]


def ceiling_command(port: int) -> list[str]:
    return [
        "taskset",
        "-c",
        SERVER_CPU,
        str(VENV_BIN / "python"),
        str(CEILING_APP),
        "--host",
        HOST,
        "--port",
        str(port),
    ]


@contextlib.contextmanager
def workspace(settings: Settings) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="kco-bench-", dir=settings.tmp_dir))
    try:
        yield folder
    finally:
        if settings.keep_tmp:
            log(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def benchmark(settings: Settings, wrk: str, procs: Processes, folder: Path) -> dict[str, Any]:
    body = encoded_body()
    body_file = folder / "order.json"
    body_file.write_bytes(body)
    database = folder / "bench.db"
    fs_type = filesystem_of(folder)
    if fs_type in ("tmpfs", "ramfs"):
        log(f"warning: {folder} is on {fs_type}: SQLite writes are not durable there")
    n = settings.connections
    results: list[Measurement] = []

    port = free_port()
    server_log = folder / "kco-sandbox.log"
    log(f"kco-sandbox on {HOST}:{port} (CPU {SERVER_CPU}), database {database} on {fs_type}")
    server = procs.start(kco_server_command(port, database), server_log)
    wait_ready(server, port, "/kco/checkout.bootstrap.js", server_log)
    create = Load(wrk, port, "POST", ORDERS, body_file, n, server.pid)
    results.append(
        measure(
            "create", create, settings.seconds, settings.warmup, lambda: check_create(port, body)
        )
    )
    require_alive(server, "kco-sandbox", server_log)
    order_id = create_one(port, body)
    read = Load(wrk, port, "GET", f"{ORDERS}/{order_id}", None, n, server.pid)
    results.append(
        measure("read", read, settings.seconds, settings.warmup, lambda: read_one(port, order_id))
    )
    require_alive(server, "kco-sandbox", server_log)
    procs.stop(server)
    database_info = inspect_database(database)

    port = free_port()
    ceiling_log = folder / "ceiling.log"
    log(f"ceiling app on {HOST}:{port} (CPU {SERVER_CPU})")
    ceiling = procs.start(ceiling_command(port), ceiling_log)
    wait_ready(ceiling, port, "/", ceiling_log)
    found = re.search(r"^ceiling: http=(\S+)", ceiling_log.read_text(), re.MULTILINE)
    ceiling_http = found.group(1) if found else "unknown"
    ceiling_post = Load(wrk, port, "POST", ORDERS, body_file, n, ceiling.pid)
    ceiling_get = Load(wrk, port, "GET", f"{ORDERS}/{order_id}", None, n, ceiling.pid)

    def check_ceiling(method: str, data: bytes | None) -> None:
        expect(call(port, method, ORDERS, data), 200, f"ceiling {method}")

    results.append(
        measure(
            "ceiling POST",
            ceiling_post,
            settings.seconds,
            settings.warmup,
            lambda: check_ceiling("POST", body),
        )
    )
    results.append(
        measure(
            "ceiling GET",
            ceiling_get,
            settings.seconds,
            settings.warmup,
            lambda: check_ceiling("GET", None),
        )
    )
    require_alive(ceiling, "ceiling app", ceiling_log)
    procs.stop(ceiling)

    by_name = {m.operation: m for m in results}
    for name, ceiling_name in (("create", "ceiling POST"), ("read", "ceiling GET")):
        own, top = by_name[name], by_name[ceiling_name]
        own.ceiling = ceiling_name
        own.ceiling_ratio = round(own.rps / top.rps, 3) if top.rps else None

    verdicts = {}
    for name, target in TARGETS.items():
        m = by_name[name]
        verdicts[name] = {
            **target,
            "rps": m.rps,
            "p99_ms": m.p99_ms,
            "met": m.rps >= target["min_rps"] and m.p99_ms < target["max_p99_ms"] and m.non2xx == 0,
        }
    return {
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "settings": {
            "seconds": settings.seconds,
            "warmup_seconds": settings.warmup,
            "connections": n,
            "wrk_threads": 1,
            "body_bytes": len(body),
            "order_lines": len(order_body()["order_lines"]),
            "ceiling_http_protocol": ceiling_http,
        },
        "machine": machine_info(),
        "versions": versions(wrk),
        "database": {"filesystem": fs_type, **database_info},
        "results": [asdict(m) for m in results],
        "targets": verdicts,
        "targets_met": all(v["met"] for v in verdicts.values()),
    }


def print_table(report: dict[str, Any]) -> None:
    header = (
        f"{'operation':<14}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'non-2xx':>9}{'sock err':>9}{'srv CPU':>9}{'vs ceiling':>12}"
    )
    print(header)
    print("-" * len(header))
    for m in report["results"]:
        ratio = f"{m['ceiling_ratio']:.2f}" if m["ceiling_ratio"] is not None else "-"
        errors = sum(m["socket_errors"].values())
        cpu = m["server_cpu_percent"]
        cpu_text = f"{cpu:.0f}%" if cpu is not None else "-"
        print(
            f"{m['operation']:<14}{m['rps']:>10.0f}{m['p50_ms']:>9.2f}{m['p99_ms']:>9.2f}"
            f"{m['non2xx']:>9}{errors:>9}{cpu_text:>9}{ratio:>12}"
        )
    print(f"\n{'server CPU per request':<24}{'total us':>10}{'event loop':>12}{'workers':>10}")
    for m in report["results"]:
        if m["cpu_us_per_request"] is None:
            continue
        print(
            f"{m['operation']:<24}{m['cpu_us_per_request']:>10.0f}"
            f"{m['loop_cpu_us_per_request']:>12.0f}{m['worker_cpu_us_per_request']:>10.0f}"
        )
    print()
    for name, v in report["targets"].items():
        verdict = "MET" if v["met"] else "NOT MET"
        print(
            f"target {name}: >= {v['min_rps']:.0f} req/s and p99 < {v['max_p99_ms']:.0f} ms"
            f" -> {v['rps']:.0f} req/s, p99 {v['p99_ms']:.2f} ms: {verdict}"
        )
    s, d = report["settings"], report["database"]
    print(
        f"({s['connections']} connections, {s['seconds']}s per run after {s['warmup_seconds']}s "
        f"warm-up, body {s['body_bytes']} B; SQLite {d['journal_mode']} on {d['filesystem']}, "
        f"{d['orders_stored']} orders stored)"
    )


# --------------------------------------------------------------------------- profile mode


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


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        description="Benchmark kco-sandbox create/read order against a bare uvicorn+h11 ceiling."
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured run")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each run")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the SQLite file goes")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the database and logs")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="instead of the benchmark: py-spy profile of one operation for SECONDS",
    )
    parser.add_argument(
        "--profile-operation",
        choices=("create", "read"),
        default="create",
        help="the operation --profile loads the server with",
    )
    parser.add_argument(
        "--profile-connections",
        type=int,
        default=1,
        help="connections during --profile (default 1: no thread waits for the GIL or the "
        "SQLite write lock, so every busy sample is work)",
    )
    a = parser.parse_args(argv)
    return Settings(
        a.seconds,
        a.warmup,
        a.connections,
        a.tmp_dir,
        a.keep_tmp,
        a.profile,
        a.profile_operation,
        a.profile_connections,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    procs = Processes()
    try:
        check_machine()
        wrk = ensure_wrk()
        with workspace(settings) as folder:
            try:
                if settings.profile:
                    profile(settings, wrk, procs, folder)
                    return 0
                report = benchmark(settings, wrk, procs, folder)
            finally:
                procs.stop_all()
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"{report['timestamp'].replace('-', '').replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print()
    print_table(report)
    print(f"\nwritten: {out.relative_to(ROOT)}")
    failures = [m for m in report["results"] if m["non2xx"] or sum(m["socket_errors"].values())]
    if failures:
        names = ", ".join(m["operation"] for m in failures)
        print(f"bench: non-2xx answers or socket errors during: {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
