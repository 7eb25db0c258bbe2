"""A live `kco-sandbox serve` process for end-to-end tests, started as a user would start it."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kco_sandbox.domain.merchant import Merchant


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    def __init__(
        self,
        folder: Path,
        merchants: list[Merchant] | None = None,
        database_url: str | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.folder = folder
        self.merchants = merchants or []
        self.database_url = database_url or f"sqlite:///{folder / 'live.db'}"
        self.extra_args = extra_args or []
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None
        self.log = folder / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        args = [sys.executable, "-m", "kco_sandbox", "serve", "--port", str(self.port)]
        args += ["--database-url", self.database_url, "--log-level", "warning"]
        for m in self.merchants:
            args += ["--merchant", f"{m.merchant_id}:{m.api_key}:{m.name}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KCO_SANDBOX_")}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*args, *self.extra_args],
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            if self.answers():
                return
            time.sleep(0.01)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.output()}")

    def answers(self) -> bool:
        """Does the server answer HTTP yet (any status)?

        Plain `http.client`: a new `httpx` client per try would load the CA bundle each time
        (tens of milliseconds of CPU, taken from the server that is starting).
        """
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1.0)
        try:
            connection.request("GET", "/kco/checkout.bootstrap.js")
            connection.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):  # refused, reset, timed out, not HTTP yet
            return False
        finally:
            connection.close()

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
