"""Per-key locks keep one chat's turns in order and forget keys nobody waits for."""

from __future__ import annotations

import asyncio
import gc

from kernel.locks import KeyedLocks


async def test_a_key_has_one_lock_while_in_use_and_none_after() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def turn(key: str, name: str) -> None:
        async with locks[key]:
            order.append(f"{name} in")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(turn("a", "1"), turn("a", "2"), *(turn(f"r{i}", "x") for i in range(1000)))
    assert order.index("1 out") < order.index("2 in")  # the same key: one after the other
    gc.collect()
    assert len(locks) == 0  # a thousand residents seen once leave nothing behind
