"""`kco-sandbox worker` checks where callbacks go as `serve` does: with `--no-private-callbacks`
(the shared profile's default) a push to a loopback receiver is not sent, and the attempt says
why; a `--callback-host` naming the receiver lets it through."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from kco_sandbox.services.delivery import OFFSET_KEY
from kco_sandbox.store import Store
from tests.callback_support import AUTH, StampedReceiver, complete_order, start_worker, wait_for
from tests.factories import MERCHANT
from tests.live import LiveServer


def one_completed_order(folder: Path, database_url: str, receiver_url: str) -> str:
    server = LiveServer(folder, merchants=[MERCHANT], database_url=database_url)
    server.extra_args = ["--no-worker"]
    server.start()
    try:
        with httpx.Client(base_url=server.url, auth=AUTH, timeout=60) as client:
            order_id = complete_order(client, receiver_url)
        assert server.terminate() == 0
    finally:
        server.stop()
    return order_id


def stop(worker: subprocess.Popen[str]) -> int:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    return worker.wait(timeout=20)


@pytest.mark.parametrize(
    ("flags", "sent"),
    [
        (["--no-private-callbacks"], False),
        (["--profile", "shared"], False),
        (["--no-private-callbacks", "--callback-host", "127.0.0.1"], True),
    ],
)
def test_the_worker_keeps_to_the_allowed_callback_hosts(
    tmp_path: Path, flags: list[str], sent: bool
) -> None:
    database_url = f"sqlite:///{tmp_path / 'kco.db'}"
    with StampedReceiver().running() as receiver:
        order_id = one_completed_order(tmp_path, database_url, receiver.url)
        store = Store.for_url(database_url)
        worker = start_worker(database_url, tmp_path / "worker.log", "--poll", "0.2", *flags)
        try:
            store.state.set(OFFSET_KEY, "130.0")  # past the first push (due at +120 s)

            def attempted() -> list[str | None]:
                found = store.outbox.attempts_for(order_id)
                return [a.get("error") for a in found]

            assert wait_for(lambda: len(attempted()) >= 1, timeout=20, step=0.1)
            [error] = attempted()[:1]
            if sent:
                assert error is None
                assert len(receiver.calls("/push")) == 1
            else:
                assert error is not None
                assert error.startswith("refused: host 127.0.0.1")
                assert receiver.calls("/push") == []
        finally:
            assert stop(worker) == 0, (tmp_path / "worker.log").read_text()
            store.close()
