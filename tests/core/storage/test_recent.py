"""RecentAnswers: a few seconds' memory of answers in one process."""
from core.storage.recent import RecentAnswers


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_recent_answers_are_reused_until_they_expire_or_are_forgotten():
    clock, calls = Clock(), []
    recent = RecentAnswers(5, now=clock)

    def compute():
        calls.append(1)
        return len(calls)
    assert recent.get("k", compute) == 1
    clock.now += 4.9
    assert recent.get("k", compute) == 1
    clock.now += 0.2
    assert recent.get("k", compute) == 2
    recent.forget()
    assert recent.get("k", compute) == 3


def test_recent_answers_start_again_rather_than_grow_past_their_limit():
    recent = RecentAnswers(60, limit=3)
    for key in range(10):
        recent.get(key, lambda: key)
    assert len(recent._answers) <= 3
