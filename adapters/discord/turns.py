"""Runs each interaction's command in its member's lane (bot.lanes) and acknowledges the
interaction in time: Discord wants an answer within 3 s."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from adapters.discord.answer import InteractionAnswer
from bot.invocation import Invocation
from bot.lanes import Lanes
from bot.ports import Answer, CoreAPI


class Turns:
    """A member's commands in a channel are handled and answered in the order Discord
    handed them over; other members' and other channels' meanwhile (issue 11). A command
    that must wait behind the member's earlier ones is deferred at once, any other once it
    takes `defer_after` seconds (at once when that is 0)."""

    def __init__(self, core: Callable[[], CoreAPI], defer_after: float) -> None:
        self._core = core
        self._defer_after = defer_after
        self.lanes = Lanes()

    async def run(
        self,
        answer: InteractionAnswer,
        invocation: Invocation,
        respond: Callable[[Sequence[Answer]], Awaitable[None]],
    ) -> None:
        """The core answers `invocation`, then `respond` shows the answers, both in the
        lane of (channel, member); a failure of either is raised here."""
        interaction = answer.interaction
        key = (str(interaction.channel_id), str(interaction.user.id))
        if self._defer_after <= 0 or self.lanes.queued(key):
            answer.defer_soon()

        async def work() -> None:
            await respond(await self._core().answer(invocation))

        handled = self.lanes.submit(key, work)
        if not answer.deferred:
            done, _ = await asyncio.wait({handled}, timeout=self._defer_after)
            if not done:
                answer.defer_soon()
        try:
            await handled
        except Exception:
            # The failure is answered by discord.py's error handler, which looks at the
            # response: a deferral under way must have landed first.
            with contextlib.suppress(Exception):
                await answer.acknowledged()
            raise
