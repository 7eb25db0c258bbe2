"""Cold start: from starting `kco-sandbox serve` to its first answer.

Starts the real command (`.venv/bin/kco-sandbox serve`, the bench merchant, a free port) pinned
to the server CPU, and connects every 2 ms until `GET /_sandbox/health` answers 200; the time is
from just before the process is spawned. Measured on a new SQLite file (the schema is made, the
merchant written) and on the same file again (already current), `STARTS` times each; the report
keeps every time, and the target is judged on the median of the new-file starts.

    .venv/bin/python -m bench.startup      # prints the times (from the project folder)
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.config import HOST, BenchError, log
from bench.processes import free_port, kco_server_command

STARTS = 5
GIVE_UP_SECONDS = 30.0


def first_answer_seconds(database: Path) -> float:
    """Seconds from spawning the server on `database` to its first 200 on the health check."""
    port = free_port()
    command = kco_server_command(port, database)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while time.perf_counter() - started < GIVE_UP_SECONDS:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise BenchError(f"cold start: the server exited: {error[-500:]}")
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=1.0)
                conn.request("GET", "/_sandbox/health")
                status = conn.getresponse().status
                conn.close()
            except OSError:
                time.sleep(0.002)
                continue
            if status == 200:
                return time.perf_counter() - started
        raise BenchError(f"cold start: no answer within {GIVE_UP_SECONDS}s")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure_startup(folder: Path) -> dict[str, object]:
    """Cold starts on new and on existing database files (seconds)."""
    new: list[float] = []
    existing: list[float] = []
    for turn in range(STARTS):
        database = folder / f"startup-{turn}.db"
        new.append(round(first_answer_seconds(database), 3))
        existing.append(round(first_answer_seconds(database), 3))
    result: dict[str, object] = {
        "new_database_s": new,
        "existing_database_s": existing,
        "median_new_s": round(statistics.median(new), 3),
        "median_existing_s": round(statistics.median(existing), 3),
    }
    log(f"cold start: new database {new} s, existing {existing} s")
    return result


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="kco-startup-") as tmp:
        print(measure_startup(Path(tmp)))
