"""The processes the bench starts: the servers under test, wrk and py-spy.

Each child runs in its own process group and gets SIGTERM should the bench itself die;
`Processes.stop_all` ends every server the run started, also on an error or a signal.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from bench.client import call
from bench.config import (
    CEILING_APP,
    HOST,
    MERCHANT_PASSWORD,
    MERCHANT_USER,
    SERVER_CPU,
    VENV_BIN,
    BenchError,
    Settings,
    log,
)


def die_with_parent() -> None:
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
                preexec_fn=die_with_parent,
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


def exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    log(f"stopped by signal {signal.Signals(signum).name}: stopping the servers")
    raise SystemExit(128 + signum)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(
    process: subprocess.Popen[bytes],
    port: int,
    path: str,
    log_file: Path,
    timeout: float = 30.0,
    ready_line: str | None = None,
) -> None:
    """Until `path` answers 200 and, when given, `ready_line` is in the log (`serve --workers N`
    prints its banner once every server process answers, not when the first one does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"server exited with {process.returncode}:\n{tail(log_file)}")
        try:
            answered = call(port, "GET", path, timeout=1.0).status == 200
        except OSError:
            answered = False
        if answered and (ready_line is None or ready_line in tail(log_file, 1000)):
            return
        time.sleep(0.05)
    raise BenchError(f"server not answering on port {port} after {timeout}s:\n{tail(log_file)}")


def require_alive(process: subprocess.Popen[bytes], name: str, log_file: Path) -> None:
    if process.poll() is not None:
        raise BenchError(f"{name} died with {process.returncode}:\n{tail(log_file)}")


def kco_server_command(port: int, database: Path, settings: Settings | None = None) -> list[str]:
    """`kco-sandbox serve` on `port`, with the SQLite file `database`, or with `settings`'
    database and number of server processes (and the CPUs that go with them)."""
    workers = settings.workers if settings is not None else 1
    url = settings.database_url if settings is not None else None
    return [
        "taskset",
        "-c",
        settings.server_cpus if settings is not None else SERVER_CPU,
        str(VENV_BIN / "kco-sandbox"),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--database-url",
        url or f"sqlite:///{database}",
        "--merchant",
        f"{MERCHANT_USER}:{MERCHANT_PASSWORD}",
        "--log-level",
        "warning",
        *(["--workers", str(workers)] if workers != 1 else []),
    ]


def upgrade_database(settings: Settings) -> None:
    """`kco-sandbox db upgrade` of `settings.database_url`, when one is given (a fresh SQLite file
    is made by `serve` itself)."""
    if settings.database_url is None:
        return
    done = subprocess.run(
        [str(VENV_BIN / "kco-sandbox"), "db", "upgrade", "--database-url", settings.database_url],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"kco-sandbox db upgrade failed:\n{done.stderr.strip()}")


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
