"""The parts of the connection limits that need no server: the log tallies, the gate, the cap, the
open-file limit and the order-id convertor. The live behaviour is in
`tests/e2e/test_connection_limits.py`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import resource
from collections.abc import Iterator

import pytest

from kco_sandbox import logs
from kco_sandbox.logs import ConnectionLog, Tally
from kco_sandbox.web.connections import ConnectionGate
from kco_sandbox.web.paths import OrderIdConvertor
from kco_sandbox.web.server_config import RESERVED_FDS, connection_cap, raise_file_limit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What the log handler writes, at every level."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("debug", "json", stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_a_tally_writes_the_first_event_then_a_count_per_window(written: io.StringIO) -> None:
    clock = Clock()
    tally = Tally("refused", clock=clock)
    for _ in range(10_000):
        tally.add()
    tally.flush()
    assert len(written.getvalue().splitlines()) == 1  # the first one, at once
    clock.now += 9.9
    tally.flush()
    assert len(written.getvalue().splitlines()) == 1
    clock.now += 0.1
    tally.flush()
    lines = written.getvalue().splitlines()
    assert len(lines) == 2
    assert '"count": 9999' in lines[1]
    assert "(9999 in the last 10 s)" in lines[1]
    clock.now += 60
    tally.flush()  # nothing new: nothing written
    assert len(written.getvalue().splitlines()) == 2
    assert tally.total == 10_000


def test_uvicorns_per_request_warnings_are_counted_not_written(written: io.StringIO) -> None:
    clock = Clock()
    connection_log = ConnectionLog(clock)
    connection_log.install()
    uvicorn_log = logging.getLogger("uvicorn.error")
    try:
        for _ in range(500):
            uvicorn_log.warning("Invalid HTTP request received.")
            uvicorn_log.warning("Unsupported upgrade request.")
            uvicorn_log.warning("No supported WebSocket library detected. Please use ...")
        uvicorn_log.info("Started server process [%d]", 1)  # any other record goes through
    finally:
        connection_log.uninstall()
    text = written.getvalue()
    assert "Invalid HTTP request received" not in text
    assert "No supported WebSocket" not in text
    assert "Started server process [1]" in text
    assert connection_log.refused.total == 1000
    assert len(text.splitlines()) == 2  # the tally's first line and uvicorn's start


def test_the_gate_makes_room_by_closing_the_longest_idle_connection() -> None:
    class Connection:
        def __init__(self, gate: ConnectionGate) -> None:
            self.gate = gate
            self.evicted = False

        def evict(self) -> None:
            self.evicted = True
            asyncio.get_running_loop().call_soon(self.gate.release, self)

    async def scenario() -> None:
        gate = ConnectionGate(2, ConnectionLog())
        first, second = Connection(gate), Connection(gate)
        for connection in (first, second):
            await gate.admit()
            gate.idle(connection)
        gate.busy(first)
        gate.idle(first)  # used again: now the second has been idle longer
        await asyncio.wait_for(gate.admit(), 1)
        assert (first.evicted, second.evicted, gate.open) == (False, True, 2)

    asyncio.run(scenario())


def test_with_no_connection_idle_the_gate_waits_for_one_to_close() -> None:
    async def scenario() -> None:
        gate = ConnectionGate(1, ConnectionLog())
        await gate.admit()
        waiting = asyncio.ensure_future(gate.admit())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        assert gate.log.waiting.total == 1
        gate.release(None)
        await asyncio.wait_for(waiting, 1)
        assert gate.open == 1

    asyncio.run(scenario())


def test_the_cap_leaves_descriptors_for_the_database_and_callbacks() -> None:
    assert connection_cap(1000, 65536) == 1000
    assert connection_cap(1000, 1024) == 1024 - RESERVED_FDS
    assert connection_cap(1000, 100) == 1


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 512:
        pytest.skip("needs a finite hard limit above 512")
    resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
    try:
        assert raise_file_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize(
    ("segment", "handed"),
    [
        ("3f2b1c0e-8d7a-4b6c-9e5f-1a2b3c4d5e6f", "3f2b1c0e-8d7a-4b6c-9e5f-1a2b3c4d5e6f"),
        ("abc\x00def", "abc\\x00def"),
        ("\x01", "\\x01"),
        ("\x7f", "\\x7f"),
        ("ordre-\u00e9t\u00e9", "ordre-\u00e9t\u00e9"),  # printable: unchanged
    ],
)
def test_an_id_with_a_control_character_is_handed_on_escaped(segment: str, handed: str) -> None:
    converted = OrderIdConvertor().convert(segment)
    assert converted == handed
    assert converted.isprintable()
