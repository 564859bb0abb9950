"""Answers one process may reuse for a few seconds (see RecentAnswers)."""
from __future__ import annotations

import time
from typing import Any, Callable, Hashable


class RecentAnswers:
    """Answers one process may reuse for a few seconds.

    The staff pages ask on every view for things that change slowly: the
    counts of the queues, the offices below the user's, the filter lists, the
    policy, whether search words are common.
    Each is cheap but together they were most of the page's cost. Staff do
    not notice a count a few seconds old; the list of tickets itself is
    always read fresh, and the scope's visibility clause is always applied,
    so a stale answer can hide a ticket for a moment, never show one.
    """

    def __init__(self, seconds: float, *, limit: int = 10_000, now: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.limit = limit
        self._now = now
        self._answers: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        now = self._now()
        kept = self._answers.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        value = compute()
        if len(self._answers) >= self.limit:  # many users in one process: start again rather than grow
            self._answers.clear()
        self._answers[key] = (now + self.seconds, value)
        return value

    def forget(self) -> None:
        """Drop everything: after a change made in this process, its next page is exact."""
        self._answers.clear()


def remembered(key: Hashable, compute: Callable[[], Any], recent: RecentAnswers | None) -> Any:
    """`recent`'s answer for key, or compute's when there is no memory to use."""
    return compute() if recent is None else recent.get(key, compute)
