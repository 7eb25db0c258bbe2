"""The platform state's read-modify-write (`change`) and its commit notices (`watch`), on both
engines: several threads moving one key at once all count, and a watcher hears of each commit of
its keys, after the commit, and of nothing else."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from kco_sandbox.store import Store


def add_one(stored: str | None) -> str:
    return str(int(stored or "0") + 1)


def refuse(_: str | None) -> str:
    raise ValueError("no")


def test_changes_racing_on_one_key_all_count(store: Store) -> None:
    def forty(_: int) -> None:
        for _ in range(40):
            store.state.change("counter", add_one)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(forty, range(4)))
    assert store.state.get("counter") == "160"


def test_a_change_that_raises_changes_nothing(store: Store) -> None:
    store.state.set("kept", "1")
    with pytest.raises(ValueError, match="no"):
        store.state.change("kept", refuse)
    with pytest.raises(ValueError, match="no"):
        store.state.change("never", refuse)
    assert (store.state.get("kept"), store.state.get("never")) == ("1", None)


def test_a_watcher_hears_of_each_committed_write_of_its_keys(store: Store) -> None:
    heard: list[str | None] = []
    # What the watcher reads when told is the value committed (another process would read it).
    store.state.watch("clock:", lambda: heard.append(store.state.get("clock:m1")))
    store.state.set("clock:m1", "5")
    assert store.state.change("clock:m1", add_one) == "6"
    store.state.set("faults:m1", "{}")  # not its prefix
    with pytest.raises(ValueError, match="no"):
        store.state.change("clock:m1", refuse)
    assert heard == ["5", "6"]
