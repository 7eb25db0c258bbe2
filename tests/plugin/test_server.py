"""`local_sandbox` and `running_sandbox`: a kco-sandbox for tests outside pytest's fixtures."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from kco_sandbox.client import SandboxStartError, local_sandbox, running_sandbox


def test_a_local_sandbox_serves_while_the_block_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A developer's own setting that would switch the sandbox API off does not reach it.
    monkeypatch.setenv("KCO_SANDBOX_SANDBOX_API", "false")

    with local_sandbox(tmp_path, ["--clock-scale", "2"], username="me") as sandbox:
        with sandbox.client() as kco:
            assert kco.clock()["scale"] == 2.0
            assert kco.create_order()["status"] == "checkout_incomplete"

        async def read_clock() -> float:
            async with sandbox.async_client() as kco:
                return float((await kco.clock())["scale"])

        assert asyncio.run(read_clock()) == 2.0
        assert running_sandbox(sandbox.base_url + "/", "me", "x").base_url == sandbox.base_url

    assert sandbox.username == "me"
    assert sandbox.database_url == f"sqlite:///{tmp_path / 'kco.db'}"
    assert sandbox.log_path == tmp_path / "server.log"
    with pytest.raises(SandboxStartError):  # stopped
        running_sandbox(sandbox.base_url, "me", "x", timeout=0)


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    with (
        pytest.raises(SandboxStartError, match="exited with status 2") as failed,
        local_sandbox(tmp_path, ["--no-such-flag"]),
    ):
        pytest.fail("it started")

    assert "command: " in str(failed.value)
    assert "No such option" in str(failed.value)


def test_a_server_that_does_not_answer(tmp_path: Path) -> None:
    with socket.socket() as nothing:
        nothing.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        url = f"http://127.0.0.1:{nothing.getsockname()[1]}"

        with pytest.raises(SandboxStartError, match=r"did not answer within 0.2 s"):
            running_sandbox(url, "me", "secret", timeout=0.2)
