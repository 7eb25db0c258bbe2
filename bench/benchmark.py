"""The benchmark: kco-sandbox's create and read order, read OM order, capture and headless
purchase, against the bare-stack ceiling; and its cold start.

Starts `kco-sandbox serve` on the server CPU with a fresh SQLite file, measures create and read
with wrk, then read OM order and capture (bench/management.py) and purchase (bench/purchase.py),
stops it, then measures the ceiling app (bench/ceiling_app.py) with the same POST and GET, then
cold starts (bench/startup.py); returns the report: settings, machine, versions, database, one
result per run, and each target of bench/targets.py with whether it was met.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.client import call, check_create, create_one, expect, read_one
from bench.config import HOST, ORDERS, SERVER_CPU, Settings, log
from bench.environment import (
    filesystem_of,
    inspect_database,
    inspect_postgres,
    machine_info,
    versions,
)
from bench.load import Load, Measurement, measure
from bench.management import measure_management
from bench.order import encoded_body, order_body
from bench.processes import (
    Processes,
    ceiling_command,
    free_port,
    kco_server_command,
    require_alive,
    upgrade_database,
    wait_ready,
)
from bench.purchase import measure_purchase
from bench.startup import measure_startup
from bench.targets import as_report, set_ceiling_ratios, verdicts


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
    where = settings.database_url or f"{database} on {fs_type}"
    log(
        f"kco-sandbox on {HOST}:{port}, {settings.workers} server process(es) on CPU "
        f"{settings.server_cpus}, database {where}"
    )
    upgrade_database(settings)
    server = procs.start(kco_server_command(port, database, settings), server_log)
    wait_ready(server, port, "/kco/checkout.bootstrap.js", server_log, ready_line="listening on")
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
    purchase, purchase_facts = measure_purchase(settings, wrk, port, server.pid, folder, body)
    results.append(purchase)
    require_alive(server, "kco-sandbox", server_log)
    procs.stop(server)
    database_info = (
        inspect_database(database)
        if settings.database_url is None
        else inspect_postgres(settings.database_url)
    )

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

    startup = measure_startup(folder)
    by_name = {m.operation: m for m in results}
    set_ceiling_ratios(by_name)
    judged = verdicts(by_name, startup)
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
            "server_processes": settings.workers,
            "server_cpus": settings.server_cpus,
            **management_facts,
            **purchase_facts,
        },
        "machine": machine_info(),
        "versions": versions(wrk),
        "database": {"filesystem": fs_type, **database_info},
        "results": [asdict(m) for m in results],
        "cold_start": startup,
        "targets": as_report(judged),
        "targets_met": all(v.met for v in judged),
    }
