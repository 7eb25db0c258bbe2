"""Which process is which under `serve --workers N`, read from Linux's `/proc`.

`server_processes` finds a parent's server processes: its children that hold the listening socket
(the parent's other child, multiprocessing's resource tracker, holds none). `Connections` opens
keep-alive connections to the server and tells which server process accepted each one: the
kernel's table of TCP sockets (`/proc/net/tcp`) gives the inode of the server's end of the
connection, and `/proc/<pid>/fd` which process holds it. Nothing here asks the server itself.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

LOCALHOST_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
LISTEN = "0A"


def require_proc() -> None:
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("needs Linux's /proc to tell the server processes apart")


def _tcp_rows() -> list[list[str]]:
    with open("/proc/net/tcp") as table:
        return [line.split() for line in table.read().splitlines()[1:]]


def _address(port: int) -> str:
    return f"{LOCALHOST_HEX}:{port:04X}"


def children(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == pid:  # after the name: state, then the parent's pid
            found.append(int(name))
    return sorted(found)


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return set()
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def listening_inode(port: int) -> str:
    for row in _tcp_rows():
        if row[1] == _address(port) and row[3] == LISTEN:
            return row[9]
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def server_processes(parent: int, port: int) -> list[int]:
    """The children of `parent` that serve the socket listening on `port`."""
    inode = listening_inode(port)
    return [pid for pid in children(parent) if inode in socket_inodes(pid)]


def wait_for_server_processes(parent: int, port: int, count: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        pids = server_processes(parent, port)
        if len(pids) == count or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended


class Connection:
    """One keep-alive HTTP connection to the server, and the server process that accepted it."""

    def __init__(self, port: int, auth: str | None) -> None:
        self.port = port
        self.auth = auth
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.owner = 0

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """Status, headers and JSON body (None when empty) of one request on this connection."""
        sent = dict(headers or {})
        if self.auth is not None:
            sent["Authorization"] = self.auth
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        self.http.request(method, path, body=data, headers=sent)
        response = self.http.getresponse()
        raw = response.read()
        return response.status, dict(response.getheaders()), json.loads(raw) if raw else None

    def find_owner(self, pids: list[int]) -> int:
        """The pid among `pids` holding the server's end of this (used) connection."""
        assert self.http.sock is not None, "make a request first"
        client_port = self.http.sock.getsockname()[1]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for row in _tcp_rows():
                if row[1] == _address(self.port) and row[2] == _address(client_port):
                    owners = [pid for pid in pids if row[9] in socket_inodes(pid)]
                    if owners:
                        self.owner = owners[0]
                        return self.owner
            time.sleep(0.02)
        raise AssertionError(f"no server process among {pids} holds the connection")

    def close(self) -> None:
        self.http.close()


@contextmanager
def one_on_each(
    port: int, pids: list[int], auth: str | None = None, timeout: float = 30
) -> Iterator[dict[int, Connection]]:
    """A connection accepted by each of the server processes `pids`: new connections are opened
    until each process has one (a process still starting takes none until it serves)."""
    chosen: dict[int, Connection] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(chosen) < len(pids) and time.monotonic() < deadline:
            connection = Connection(port, auth)
            status, _, _ = connection.call("GET", "/_sandbox/health")
            assert status == 200
            owner = connection.find_owner(pids)
            if owner in chosen:
                connection.close()
                time.sleep(0.01)
            else:
                chosen[owner] = connection
        assert sorted(chosen) == sorted(pids), f"connections reached only {sorted(chosen)}"
        yield chosen
    finally:
        for connection in chosen.values():
            connection.close()
