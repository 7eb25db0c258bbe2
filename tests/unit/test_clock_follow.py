"""`MerchantClocks.follow`: a process serving beside others reloads the stored offsets when the
shared version changed, and only then; a reload that fails keeps the offsets known and is tried
again at the next reading."""

from __future__ import annotations

from datetime import timedelta

from kco_sandbox.clock import FrozenClock, MerchantClocks


class Stored:
    """Offsets as another process stored them, the version it raised, and the reloads made."""

    def __init__(self, clocks: MerchantClocks) -> None:
        self.clocks = clocks
        self.offsets: dict[str, timedelta] = {}
        self.version = 0
        self.reloads = 0
        self.database_answers = True

    def move(self, merchant_id: str, delta: timedelta) -> None:
        self.offsets[merchant_id] = self.offsets.get(merchant_id, timedelta(0)) + delta
        self.version += 1  # raised after storing, as the store's watcher does

    def reload(self) -> bool:
        self.reloads += 1
        if not self.database_answers:
            return False
        self.clocks.catch_up(self.offsets)
        return True


def test_a_move_stored_elsewhere_is_seen_at_the_next_reading() -> None:
    base = FrozenClock()
    clocks = MerchantClocks(base)
    stored = Stored(clocks)
    clocks.follow(lambda: stored.version, stored.reload)
    assert stored.reloads == 1  # once on following
    assert clocks.now("m1") == base.now()
    assert stored.reloads == 1  # nothing moved: no reload

    stored.move("m1", timedelta(hours=2))
    assert clocks.offset("m1") == timedelta(hours=2)
    assert clocks.now("m1") == base.now() + timedelta(hours=2)
    assert clocks.moved() == {"m1": base.now() + timedelta(hours=2)}
    assert clocks.offset("m2") == timedelta(0)
    assert stored.reloads == 2  # one reload for the move, then readings from memory


def test_a_failed_reload_keeps_the_known_offsets_and_is_tried_again() -> None:
    clocks = MerchantClocks(FrozenClock())
    stored = Stored(clocks)
    clocks.follow(lambda: stored.version, stored.reload)
    stored.move("m1", timedelta(minutes=5))
    stored.database_answers = False
    assert clocks.offset("m1") == timedelta(0)
    assert clocks.offset("m1") == timedelta(0)
    assert stored.reloads == 3
    stored.database_answers = True
    assert clocks.offset("m1") == timedelta(minutes=5)
    assert clocks.offset("m1") == timedelta(minutes=5)
    assert stored.reloads == 4


def test_clocks_that_follow_nothing_never_reload() -> None:
    clocks = MerchantClocks(FrozenClock())
    clocks.advance("m1", timedelta(hours=1))
    assert clocks.offset("m1") == timedelta(hours=1)
    assert clocks.default == timedelta(0)
