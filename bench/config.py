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
HOST = "127.0.0.1"
ORDERS = "/checkout/v3/orders"
OM_ORDERS = "/ordermanagement/v1/orders"
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


class BenchError(RuntimeError):
    """Something that makes the numbers meaningless: stop and say why."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)
