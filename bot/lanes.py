"""Handles a platform's incoming messages concurrently: one ordered lane per key (a room and
a sender), a bounded number of them in hand at once. Every adapter that receives messages
or interactions from many members uses it (issue 11: different rooms and members at once,
each member's own messages in order)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable

# Enough to overlap one message's database work with others' sends; few enough that the
# database's connection pool (and SQLite's single writer) is never the queue.
WORKERS = 8


class Lanes:
    """Runs work submitted under the same key in submission order, one at a time; work
    under different keys runs concurrently, at most `workers` at once."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._slots = asyncio.Semaphore(workers)
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._in_hand: set[asyncio.Task[None]] = set()  # submitted, not yet finished

    def submit(self, key: Hashable, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Queue `work` behind the work already queued under `key`; the task ends when it
        has run. Work that raises does not stop the lane (the caller logs its failures)."""
        previous = self._tails.get(key)
        task = asyncio.create_task(self._run(previous, work))
        self._tails[key] = task
        self._in_hand.add(task)
        task.add_done_callback(lambda done: self._forget(key, done))
        return task

    async def _run(
        self, previous: asyncio.Task[None] | None, work: Callable[[], Awaitable[None]]
    ) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # its outcome is its own; only its end counts
        async with self._slots:
            await work()

    def _forget(self, key: Hashable, done: asyncio.Task[None]) -> None:
        self._in_hand.discard(done)
        if self._tails.get(key) is done:
            del self._tails[key]

    @property
    def in_hand(self) -> int:
        """How much work is submitted and not yet finished."""
        return len(self._in_hand)

    async def cancel_all(self) -> None:
        """Cancel all the work in hand and wait until every piece has ended, so that none
        outlives what it works with (a platform client about to close). What each ended
        with is its own and is not raised; a cancellation of the caller is."""
        while self._in_hand:
            ending = set(self._in_hand)
            for task in ending:
                task.cancel()
            await asyncio.wait(ending)

    @property
    def busy(self) -> int:
        """How many lanes have work queued or running."""
        return len(self._tails)

    def queued(self, key: Hashable) -> bool:
        """Whether work under `key` is queued or running (new work would wait for it)."""
        return key in self._tails
