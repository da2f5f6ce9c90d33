"""One live card per decision on Discord: the posted card edited in place as votes arrive,
at the pace bot.live.LiveCards allows (a burst of votes costs a bounded number of edits)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from adapters.discord.outgoing import Outgoing
from adapters.discord.render import PLATFORM
from bot.clock import Clock
from bot.live import EDITS_PER_WINDOW, WINDOW
from bot.live import LiveCards as _LiveCards
from bot.ports import CoreAPI, DecisionRef


class LiveCards(_LiveCards):
    """bot.live.LiveCards editing the decision's posted Discord cards."""

    def __init__(
        self,
        outgoing: Outgoing,
        core: Callable[[], CoreAPI],
        clock: Clock,
        window: timedelta = WINDOW,
        per_window: int = EDITS_PER_WINDOW,
    ) -> None:
        super().__init__(self._edit, clock, window, per_window)
        self.outgoing = outgoing
        self._core = core

    async def _edit(self, ref: DecisionRef) -> bool:
        if not await self._core().cards_of(PLATFORM, ref):
            return False
        # In the decision's turn (adapters.discord.card_turns): one refresh at a time, each
        # reading the card as it is sent, and none landing after the close's edit.
        return await self.outgoing.refresh(ref)
