"""Lanes: each key's work in order, different keys at once, never more than the bound."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.lanes import Lanes

GUARD = 10.0


async def test_one_keys_work_runs_in_order_and_other_keys_meanwhile() -> None:
    lanes = Lanes(workers=4)
    done: list[str] = []
    gate = asyncio.Event()

    def job(name: str, wait: asyncio.Event | None = None) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if wait is not None:
                await wait.wait()
            done.append(name)

        return run

    first = lanes.submit("alice", job("alice-1", gate))
    second = lanes.submit("alice", job("alice-2"))
    other = lanes.submit("bob", job("bob-1"))
    await asyncio.wait_for(other, GUARD)  # bob is not held up behind alice
    assert done == ["bob-1"]
    gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), GUARD)
    assert done == ["bob-1", "alice-1", "alice-2"]
    assert lanes.busy == 0


async def test_a_failure_does_not_stop_the_lane() -> None:
    lanes = Lanes(workers=2)
    done: list[int] = []

    async def fail() -> None:
        raise RuntimeError("boom")

    async def ok() -> None:
        done.append(1)

    failed = lanes.submit("k", fail)
    after = lanes.submit("k", ok)
    await asyncio.wait({failed, after}, timeout=GUARD)
    assert isinstance(failed.exception(), RuntimeError) and done == [1]


async def test_no_more_than_the_bound_run_at_once() -> None:
    lanes = Lanes(workers=3)
    running, peak = 0, 0
    release = asyncio.Event()
    three_in = asyncio.Event()

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 3:
            three_in.set()
        await release.wait()
        running -= 1

    tasks = [lanes.submit(n, work) for n in range(10)]
    await asyncio.wait_for(three_in.wait(), GUARD)
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), GUARD)
    assert peak == 3
