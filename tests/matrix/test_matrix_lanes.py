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


async def test_cancel_all_returns_once_every_piece_of_work_has_ended() -> None:
    lanes = Lanes(workers=1)
    ended: list[str] = []
    started = asyncio.Event()

    async def stuck() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(lambda: None)  # winding down takes a round trip
            ended.append("running")

    async def queued() -> None:
        ended.append("queued ran")  # never: it is cancelled while it waits its turn

    lanes.submit("alice", stuck)
    lanes.submit("alice", queued)
    lanes.submit("bob", queued)
    await asyncio.wait_for(started.wait(), GUARD)
    await asyncio.wait_for(lanes.cancel_all(), GUARD)
    assert ended == ["running"]
    assert lanes.in_hand == 0 and lanes.busy == 0
