"""Facts about the machine and the software: the checks before a run, and what a report records.

The CPUs and tools a run needs (wrk is installed with apt-get when missing and root), the CPU
model, memory and kernel, the file system under the database, the versions of Python, the
server stack, SQLite and wrk, the commit of kco-sandbox, and the database a run left behind.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from bench.config import CLIENT_CPU, ROOT, SERVER_CPU, VENV_BIN, BenchError, log

VERSIONED_PACKAGES = ("uvicorn", "starlette", "h11", "msgspec", "sqlalchemy", "anyio")


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


def inspect_postgres(url: str) -> dict[str, Any]:
    """The same facts of a PostgreSQL database (`--database-url`)."""
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    engine = create_engine(parsed.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as db:
            rows = db.execute(text("SELECT count(*) FROM checkout_orders")).scalar()
            om_rows = db.execute(text("SELECT count(*) FROM om_orders")).scalar()
            version = db.execute(text("SHOW server_version")).scalar()
    finally:
        engine.dispose()
    return {
        "engine": f"PostgreSQL {version}",
        "url": parsed.render_as_string(hide_password=True),
        "journal_mode": "-",
        "synchronous": "-",
        "orders_stored": rows,
        "om_orders_stored": om_rows,
    }


def inspect_database(path: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
        (rows,) = db.execute("SELECT count(*) FROM checkout_orders").fetchone()
        (om_rows,) = db.execute("SELECT count(*) FROM om_orders").fetchone()
    return {
        "journal_mode": mode,
        "synchronous": "NORMAL (default)",
        "orders_stored": rows,
        "om_orders_stored": om_rows,
    }
