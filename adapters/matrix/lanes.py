"""Matrix's side of its lanes (bot.lanes): each sync's token saved only once its events
are handled, and how many events may be in hand before the sync loop waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

# Events handed out and not yet handled beyond which the sync loop waits before the next
# sync (a flood must not pile up without bound in memory).
MAX_IN_HAND = 2000


async def finished(handling: Sequence[asyncio.Task[None]]) -> None:
    """Wait for every task; the first that failed re-raises (as when events were handled
    one by one: an unexpected error stops the loop). Cancelled, it cancels them all."""
    if not handling:
        return
    try:
        await asyncio.wait(handling)
    except asyncio.CancelledError:
        for task in handling:
            task.cancel()
        raise
    for task in handling:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error


class Checkpoints:
    """Saves each sync's token once its events, and those of every earlier sync, are
    handled: the sync loop goes on syncing meanwhile, and a crash before then makes the
    next run see the unhandled events again (the core ignores one it has handled)."""

    def __init__(self, save: Callable[[str], None]) -> None:
        self._save = save
        self._last: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self.failed = asyncio.Event()  # set as soon as an event's handling fails

    def add(self, handling: Sequence[asyncio.Task[None]], token: str) -> asyncio.Task[None]:
        """The task that saves `token` after `handling` and every earlier checkpoint."""
        for task in handling:
            task.add_done_callback(self._note)
        self._last = asyncio.create_task(self._after(self._last, handling, token))
        return self._last

    def _note(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None and self._error is None:
            self._error = error
            self.failed.set()

    async def _after(
        self,
        previous: asyncio.Task[None] | None,
        handling: Sequence[asyncio.Task[None]],
        token: str,
    ) -> None:
        try:
            if previous is not None:
                await previous  # an earlier failure fails this one too
        except BaseException:
            for task in handling:
                task.cancel()
            raise
        await finished(handling)
        self._save(token)

    def failure(self) -> BaseException | None:
        """The first unexpected error an event's handling raised, if any did."""
        return self._error

    async def settle(self) -> None:
        """Wait until every event handed out is handled and its token saved."""
        if self._last is not None:
            await self._last

    def abandon(self) -> None:
        """Stop handling what is in hand (the adapter is being torn down)."""
        if self._last is not None:
            self._last.cancel()
