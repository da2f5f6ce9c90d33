"""Re-planning scheduled work in the background after a change to what is due: one pass
at a time, and one more (not one each) for changes that come while a pass runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class Replans:
    """Calls its listeners (the scheduler's re-plan) off the caller's path."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], Awaitable[None]]] = []
        self._running: asyncio.Task[None] | None = None
        self._again = False

    def listen(self, listener: Callable[[], Awaitable[None]]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        """Something due changed (a commit ended): re-plan soon, in the background."""
        if not self._listeners:
            return
        if self._running is not None and not self._running.done():
            self._again = True
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (an engine closing): the scheduler's safety net covers it
        self._running = loop.create_task(self._run(), name="re-plan-due-work")

    async def _run(self) -> None:
        while True:
            self._again = False
            for listener in self._listeners:
                try:
                    await listener()
                except Exception:
                    log.exception("re-planning scheduled work failed; the safety net runs it")
            if not self._again:
                return

    async def settled(self) -> None:
        """Wait until no re-plan is pending or running."""
        while self._running is not None and not self._running.done():
            await asyncio.shield(self._running)

    async def close(self) -> None:
        if self._running is not None:
            await cancel_and_wait(self._running)
