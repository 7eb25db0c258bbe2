"""Throughput and latency of the Checkout API on one server core, against a bare-stack ceiling.

What it does (see bench/README.md):

1. starts `kco-sandbox serve` pinned to CPU 0, on a free loopback port, with a fresh SQLite file
   (default settings: WAL, synchronous=NORMAL) in a temporary folder;
2. runs wrk pinned to CPU 1 at 8 connections: create order (POST /checkout/v3/orders with a
   ~1.5 KB body), read order (GET /checkout/v3/orders/{id}), and on completed orders read OM
   order (GET /ordermanagement/v1/orders/{id}) and capture (POST .../captures, round robin over
   `--capture-orders` orders);
3. starts a bare ASGI app on the same uvicorn/h11 stack, pinned to CPU 0, and measures POST with
   the same body and GET at the same concurrency: the ceiling;
4. prints a table and writes it as JSON to bench/results/<timestamp>.json.

Each measured run is preceded by one request whose status is checked (201 or 200) and by a short
warm-up. Every process started here is stopped on the way out, on errors and signals too.

With `--callbacks N` it instead measures push delivery from the callback outbox over N completed
orders (bench/callbacks.py): one clock advance that makes all of them due, and a real-time run.

With `--profile SECONDS` it instead loads the server with create (or, with `--profile-operation`,
read, read-om or capture) requests, prints the server's CPU time per request split between the
event-loop thread and the worker threads (exact, from /proc), and samples it with py-spy (which
must be installed in the virtualenv) for the hottest functions.

The work is done by the modules next to this script: config (shared constants and settings),
order (the order body), client (checked requests), management (completed orders, the read OM
order and capture runs), processes (starting and stopping servers), load (wrk and the
measurement), environment (machine and version facts), benchmark (the runs), report (table and
JSON) and profiling (profile mode). This file parses the options and runs them, stopping every
process on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` importable as a script
from bench.benchmark import benchmark
from bench.callbacks import callback_benchmark, print_callback_report
from bench.config import ROOT, BenchError, Settings, log
from bench.environment import check_machine, ensure_wrk
from bench.processes import Processes, exit_on_signal
from bench.profiling import profile
from bench.report import print_table, write_report


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
        choices=("create", "read", "read-om", "capture"),
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
    parser.add_argument(
        "--capture-orders",
        type=int,
        default=3000,
        help="completed orders the capture run goes round (each takes a few captures)",
    )
    parser.add_argument(
        "--callbacks",
        type=int,
        default=0,
        metavar="N",
        help="instead of the benchmark: push delivery over N completed orders (bench/callbacks.py)",
    )
    parser.add_argument(
        "--callbacks-gap",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="with --callbacks: the first push's delay in the real-time run",
    )
    parser.add_argument(
        "--callbacks-profile",
        action="store_true",
        help="with --callbacks: py-spy on the server (with --no-worker) during the advance",
    )
    parser.add_argument(
        "--purchase-rate",
        type=int,
        default=1500,
        metavar="N",
        help="orders made per second of the purchase run (each order is bought once)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (`serve --workers N`); more than one run on CPUs 0 and 1, wrk's "
        "CPU included (bench/README.md)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        metavar="URL",
        help="the server's database, e.g. postgresql://USER@HOST/DB (upgraded, not emptied) "
        "[default: a fresh SQLite file in the temporary folder]",
    )
    a = parser.parse_args(argv)
    if a.callbacks < 0 or a.callbacks_gap <= 0:
        parser.error("--callbacks must be >= 0 and --callbacks-gap > 0")
    if not 1 <= a.workers <= 64:
        parser.error("--workers must be 1 to 64")
    return Settings(
        a.seconds,
        a.warmup,
        a.connections,
        a.tmp_dir,
        a.keep_tmp,
        a.profile,
        a.profile_operation,
        a.profile_connections,
        a.capture_orders,
        a.callbacks,
        a.callbacks_gap,
        a.callbacks_profile,
        purchase_rate=a.purchase_rate,
        workers=a.workers,
        database_url=a.database_url,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, exit_on_signal)
    procs = Processes()
    try:
        check_machine()
        if settings.callbacks:
            with workspace(settings) as folder:
                try:
                    report = callback_benchmark(settings, procs, folder)
                finally:
                    procs.stop_all()
            out = write_report(report, prefix="callbacks-")
            print()
            print_callback_report(report)
            print(f"\nwritten: {out.relative_to(ROOT)}")
            return 0
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
    out = write_report(report)
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
