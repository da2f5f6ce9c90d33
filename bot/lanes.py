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
        self.in_hand = 0  # submitted, not yet finished

    def submit(self, key: Hashable, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Queue `work` behind the work already queued under `key`; the task ends when it
        has run. Work that raises does not stop the lane (the caller logs its failures)."""
        previous = self._tails.get(key)
        task = asyncio.create_task(self._run(previous, work))
        self._tails[key] = task
        self.in_hand += 1
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
        self.in_hand -= 1
        if self._tails.get(key) is done:
            del self._tails[key]

    @property
    def busy(self) -> int:
        """How many lanes have work queued or running."""
        return len(self._tails)

    def queued(self, key: Hashable) -> bool:
        """Whether work under `key` is queued or running (new work would wait for it)."""
        return key in self._tails
