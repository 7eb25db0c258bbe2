"""A kco-sandbox to test against: one started as a child process, or one already running.

    with local_sandbox(folder) as sandbox:      # `python -m kco_sandbox serve` on a free port
        with sandbox.client() as kco:
            kco.create_order()

The pytest plugin's `kco_sandbox` fixture is built on this; tests under unittest, behave or a
script can use it directly. The server is a process of its own, started as a user would start it
(`python -m kco_sandbox serve`): the client still imports nothing of the platform.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from kco_sandbox.client.asynchronous import AsyncKcoClient
from kco_sandbox.client.session import DEFAULT_TIMEOUT_SECONDS
from kco_sandbox.client.sync import KcoClient

START_TIMEOUT_SECONDS: Final = 30.0
STOP_TIMEOUT_SECONDS: Final = 10.0
# A free port can be taken by another process before the server binds it: then it starts again
# on another port.
START_ATTEMPTS: Final = 3
# Any path the server answers without credentials: it answers HTTP once it serves requests.
PROBE_PATH: Final = "/kco/checkout.bootstrap.js"
MERCHANT_USERNAME: Final = "test-merchant"
MERCHANT_NAME: Final = "Test shop"


class SandboxStartError(RuntimeError):
    """The server did not start, or does not answer; the message holds its output."""


@dataclass(frozen=True, slots=True)
class KcoSandbox:
    """A kco-sandbox to test against: its URL and the merchant credentials to sign in with.

    `log_path` and `database_url` are those of a server `local_sandbox` started (None for one
    that was already running).
    """

    base_url: str
    username: str
    password: str
    log_path: Path | None = None
    database_url: str | None = None

    def client(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> KcoClient:
        """A new `KcoClient` signed in to this sandbox (close it when done)."""
        return KcoClient(self.base_url, self.username, self.password, timeout=timeout)

    def async_client(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> AsyncKcoClient:
        """A new `AsyncKcoClient` signed in to this sandbox (`await aclose()` it when done)."""
        return AsyncKcoClient(self.base_url, self.username, self.password, timeout=timeout)


@contextlib.contextmanager
def local_sandbox(
    folder: Path,
    serve_args: Sequence[str] = (),
    *,
    username: str = MERCHANT_USERNAME,
    start_timeout: float = START_TIMEOUT_SECONDS,
) -> Iterator[KcoSandbox]:
    """`python -m kco_sandbox serve` on a free port of 127.0.0.1 while the block runs.

    Its SQLite database (`kco.db`) and its output (`server.log`) are kept in `folder`; its one
    merchant is `username` with a random password. `serve_args` are more arguments for `serve`.
    The server gets no `KCO_SANDBOX_*` variable of this environment: its arguments alone
    configure it, so a developer's own settings (a public URL, a switched-off sandbox API,
    another database) cannot change it. Raises `SandboxStartError` (with the server's output)
    if it does not answer within `start_timeout` seconds. Leaving the block stops it: SIGTERM,
    then SIGKILL after 10 seconds.
    """
    password = f"kco_test_api_{secrets.token_urlsafe(18)}"
    database_url = f"sqlite:///{folder / 'kco.db'}"
    log_path = folder / "server.log"
    for attempt in range(1, START_ATTEMPTS + 1):
        port = _free_port()
        args = [sys.executable, "-m", "kco_sandbox", "serve", "--port", str(port)]
        args += ["--database-url", database_url, "--log-level", "warning"]
        args += ["--merchant", f"{username}:{password}:{MERCHANT_NAME}", *serve_args]
        process = _start(args, folder, log_path)
        try:
            url = f"http://127.0.0.1:{port}"
            if _wait_until_answering(url, start_timeout, process):
                yield KcoSandbox(url, username, password, log_path, database_url)
                return
            if attempt == START_ATTEMPTS or process.poll() is None or _is_free(port):
                raise SandboxStartError(_start_failure(process, args, log_path, start_timeout))
            # It exited, and another process holds its port now: try again on another.
        finally:
            _stop(process)


def running_sandbox(
    url: str, username: str, password: str, *, timeout: float = START_TIMEOUT_SECONDS
) -> KcoSandbox:
    """A kco-sandbox someone else started, once it answers: a CI service container, say, may
    still be starting. Raises `SandboxStartError` if it does not answer within `timeout`."""
    url = url.rstrip("/")
    if not _wait_until_answering(url, timeout):
        raise SandboxStartError(f"kco-sandbox at {url} did not answer within {timeout:g} s")
    return KcoSandbox(url, username, password)


def _start(args: list[str], folder: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCO_SANDBOX_")}
    with log_path.open("wb") as log:  # each attempt's own output: the one shown on failure
        return subprocess.Popen(args, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=env)


def _wait_until_answering(
    url: str, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> bool:
    """True once the server answers HTTP; False if its process exits or it takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            return False
        if _answers(url):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def _start_failure(
    process: subprocess.Popen[bytes], args: list[str], log_path: Path, timeout: float
) -> str:
    code = process.poll()
    why = f"did not answer within {timeout:g} s" if code is None else f"exited with status {code}"
    output = log_path.read_text(errors="replace").strip() or "(no output)"
    return f"kco-sandbox {why}.\ncommand: {shlex.join(args)}\noutput:\n{output}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, so the server shuts down cleanly; SIGKILL if it takes too long."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:  # a server that does not stop
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _answers(url: str) -> bool:
    """Does the server at `url` answer HTTP (any status)?

    `http.client` rather than httpx: a new httpx client per try would load the CA bundle each
    time, taking CPU from the server that is starting.
    """
    parts = urlsplit(url)
    connection_type = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_type(parts.netloc, timeout=1.0)
    try:
        connection.request("GET", parts.path.rstrip("/") + PROBE_PATH)
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, not HTTP yet
        return False
    finally:
        connection.close()
