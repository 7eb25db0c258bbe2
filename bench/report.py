"""The report of a benchmark: the JSON file in bench/results/ and the table printed at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.config import RESULTS_DIR


def write_report(report: dict[str, Any], prefix: str = "") -> Path:
    """Write `report` to bench/results/<prefix><timestamp>.json; return the file's path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"{prefix}{report['timestamp'].replace('-', '').replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return out


def print_table(report: dict[str, Any]) -> None:
    header = (
        f"{'operation':<15}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
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
            f"{m['operation']:<15}{m['rps']:>10.0f}{m['p50_ms']:>9.2f}{m['p99_ms']:>9.2f}"
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
    for v in report["targets"]:
        verdict = "met" if v["met"] else "NOT MET"
        print(f"target {v['target']}: {v['wanted']} -> {v['measured']}: {verdict}")
    s, d = report["settings"], report["database"]
    print(
        f"({s['connections']} connections, {s['seconds']}s per run after {s['warmup_seconds']}s "
        f"warm-up, body {s['body_bytes']} B; {d.get('engine', 'SQLite')} {d['journal_mode']} on "
        f"{d['filesystem']}, "
        f"{d['orders_stored']} orders stored)"
    )
    if "capture_orders" in s:
        print(
            f"(capture: {s['capture_body']} round robin over {s['capture_orders']} completed"
            f" orders, {s['captures_per_order_in_run']} captures per order in the measured run)"
        )
