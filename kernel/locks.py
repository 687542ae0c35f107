"""One asyncio lock per key (a resident, a chat) in memory that does not grow with the keys seen."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Hashable


class KeyedLocks:
    """`locks[key]` is the key's lock while anyone holds or waits for it; an unused lock is dropped
    (weak values), so a million residents seen once leave nothing behind."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = weakref.WeakValueDictionary()

    def __getitem__(self, key: Hashable) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def __len__(self) -> int:
        return len(self._locks)


__all__ = ["KeyedLocks"]
