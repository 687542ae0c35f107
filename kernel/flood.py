"""A sliding-window flood limit in bounded memory, shared by every channel (web, Telegram, Zalo)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque


class FloodLimiter:
    """At most `limit` events per key in any `window` seconds (a sliding window).

    Memory is bounded: at most `max_keys` keys are remembered; past that the least recently seen key is
    forgotten (it can then send a little more, which costs less than an attacker growing the table)."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        times = self._seen.get(key)
        if times is None:
            times = self._seen[key] = deque()
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(key)
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        return True

    def full(self, key: str, now: float | None = None) -> bool:
        """True when `key` has used its limit in the window (nothing is counted)."""
        now = time.monotonic() if now is None else now
        times = self._seen.get(key)
        return times is not None and sum(1 for t in times if now - t <= self.window) >= self.limit

    def __len__(self) -> int:
        return len(self._seen)


__all__ = ["FloodLimiter"]
