"""One live card per decision on Discord: the posted card edited in place as votes arrive,
at the pace bot.live.LiveCards allows (a burst of votes costs a bounded number of edits)."""

from __future__ import annotations

import asyncio
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
        self._editing = asyncio.Lock()

    async def _edit(self, ref: DecisionRef) -> bool:
        if not await self._core().cards_of(PLATFORM, ref):
            return False
        async with self._editing:
            # One refresh at a time, each reading the card as it is sent: a refresh never
            # overtakes a newer one with older content.
            card = await self._core().card(ref)
            if card is None or card.choices is None:
                return False
            await self.outgoing.edit_cards(card, ref)
            if not card.choices.closed:
                # The decision may have closed while this edit was on its way: its close
                # edits the cards itself, and an older count must not land after it.
                now = await self._core().card(ref)
                if now is not None and now.choices is not None and now.choices.closed:
                    await self.outgoing.edit_cards(now, ref)
            return True
