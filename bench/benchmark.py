"""The benchmark: kco-sandbox's create and read order, read OM order and capture, against the
bare-stack ceiling.

Starts `kco-sandbox serve` on the server CPU with a fresh SQLite file, measures create and read
with wrk, then read OM order and capture (bench/management.py), stops it, then measures the
ceiling app (bench/ceiling_app.py) with the same POST and GET; returns the report: settings,
machine, versions, database, one result per run, and whether each target was met.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.client import call, check_create, create_one, expect, read_one
from bench.config import HOST, ORDERS, SERVER_CPU, TARGETS, Settings, log
from bench.environment import filesystem_of, inspect_database, machine_info, versions
from bench.load import Load, Measurement, measure
from bench.management import measure_management
from bench.order import encoded_body, order_body
from bench.processes import (
    Processes,
    ceiling_command,
    free_port,
    kco_server_command,
    require_alive,
    wait_ready,
)

# Each operation against the ceiling run of its method.
CEILING_OF = {
    "create": "ceiling POST",
    "read": "ceiling GET",
    "read OM order": "ceiling GET",
    "capture": "ceiling POST",
}


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
    management, management_facts = measure_management(settings, wrk, port, server.pid, folder, body)
    results += management
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
    for name, ceiling_name in CEILING_OF.items():
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
            **management_facts,
        },
        "machine": machine_info(),
        "versions": versions(wrk),
        "database": {"filesystem": fs_type, **database_info},
        "results": [asdict(m) for m in results],
        "targets": verdicts,
        "targets_met": all(v["met"] for v in verdicts.values()),
    }
