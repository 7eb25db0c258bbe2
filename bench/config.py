"""What the bench modules share: paths, CPUs, the merchant, the targets and the run's settings.

Also `BenchError`, the error that stops a run with its reason, and `log`, the progress line on
stderr.
"""

from __future__ import annotations

import base64
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = ROOT / ".venv" / "bin"
LUA_SCRIPT = BENCH_DIR / "checkout.lua"
CEILING_APP = BENCH_DIR / "ceiling_app.py"
RESULTS_DIR = BENCH_DIR / "results"

SERVER_CPU = "0"
CLIENT_CPU = "1"
# `--workers 2` or more: the server's processes may run on both CPUs, wrk's one included. On a
# 2-core machine they then share CPU 1 with wrk, so two processes cannot show twice one's rate.
SERVER_CPUS_SEVERAL = "0,1"
HOST = "127.0.0.1"
ORDERS = "/checkout/v3/orders"
OM_ORDERS = "/ordermanagement/v1/orders"
MERCHANT_USER = "bench"
MERCHANT_PASSWORD = "bench-secret"
AUTHORIZATION = (
    "Basic " + base64.b64encode(f"{MERCHANT_USER}:{MERCHANT_PASSWORD}".encode()).decode()
)


@dataclass
class Settings:
    """The options of one run of bench/checkout_bench.py."""

    seconds: int
    warmup: int
    connections: int
    tmp_dir: Path | None
    keep_tmp: bool
    profile: int
    profile_operation: str
    profile_connections: int
    # Completed orders the capture run goes round (see bench/management.py).
    capture_orders: int = 3000
    # `--callbacks N`: instead of the request runs, callback delivery over N orders
    # (bench/callbacks.py), the real-time run's first push `callbacks_gap` seconds after purchase.
    callbacks: int = 0
    callbacks_gap: float = 10.0
    callbacks_profile: bool = False  # py-spy on the server during the advance
    # `kco-sandbox serve --workers N`, and the database it uses (None: a fresh SQLite file in the
    # temporary folder; a PostgreSQL URL is upgraded first, not emptied).
    workers: int = 1
    database_url: str | None = None
    # Orders made per second of the purchase run (bench/purchase.py): above its rate.
    purchase_rate: int = 1500

    @property
    def server_cpus(self) -> str:
        """The CPUs the server is pinned to (`taskset -c`)."""
        return SERVER_CPU if self.workers == 1 else SERVER_CPUS_SEVERAL


class BenchError(RuntimeError):
    """Something that makes the numbers meaningless: stop and say why."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
