"""The board's coalescer: every key marked since the last flush goes out in one flush (one frame
per kind, whatever the number of keys), flushes at most once per interval, the first change
after a quiet spell at once, none later than one interval after its first mark."""
from __future__ import annotations

from features.supervisor.board_notifier import Coalescer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_when_keys_change_at_different_moments_then_they_go_out_together_once_per_interval():
    clock = Clock()
    c = Coalescer(0.25, clock)
    assert c.due() == [] and c.next_in() is None
    c.mark("a")
    assert c.due() == ["a"]  # after a quiet spell: at once
    clock.now += 0.01
    c.mark("b")
    clock.now += 0.09
    c.mark("c")
    c.mark("b")  # marked twice: once in the flush
    assert c.due() == []
    assert abs(c.next_in() - 0.15) < 1e-9  # one interval after the last flush
    clock.now += 0.15
    assert c.due() == ["b", "c"]
    assert c.due() == [] and c.next_in() is None
    clock.now += 0.05
    c.mark("a")
    assert c.due() == [] and abs(c.next_in() - 0.2) < 1e-9
    clock.now += 0.2
    assert c.due() == ["a"]
    clock.now += 10  # quiet again: the next change goes at once
    c.mark("d")
    assert c.due() == ["d"]


def test_when_a_mark_comes_then_the_waiting_runner_is_woken_once_per_flush():
    clock = Clock()
    c = Coalescer(0.5, clock)
    c.mark("a")
    assert c.wakeup.is_set()
    c.due()
    c.wakeup.clear()
    c.mark("b")
    assert c.wakeup.is_set()  # the runner learns the new due time
    c.wakeup.clear()
    c.mark("c")  # already due with b: nothing new to learn
    assert not c.wakeup.is_set()
