"""One live card per decision on Discord: edited in place as votes arrive, debounced so a
burst of votes costs a bounded number of edits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from adapters.discord.outgoing import CARD_INTENTS, Outgoing
from adapters.discord.reads import is_read
from adapters.discord.render import PLATFORM
from bot.clock import Clock
from bot.ports import Answer, CardClosed, CoreAPI, DecisionRef

log = logging.getLogger(__name__)

# A decision's card is edited at most EDITS_PER_WINDOW times per WINDOW (Discord itself
# allows 5 edits per 5 s in a channel): the first votes show at once, the rest of a burst
# is shown by one edit once the window lets it.
WINDOW = timedelta(seconds=5)
EDITS_PER_WINDOW = 4


class LiveCards:
    """Keeps each decision's posted card in step with its votes. A change marks the card
    stale; it is edited at once unless it was edited `per_window` times within the last
    `window`, and then by `flush` (the adapter's timer) once the window allows. Times come
    from `clock`, so a burst of any size costs at most `per_window` edits per window."""

    def __init__(
        self,
        outgoing: Outgoing,
        core: Callable[[], CoreAPI],
        clock: Clock,
        window: timedelta = WINDOW,
        per_window: int = EDITS_PER_WINDOW,
    ) -> None:
        self.outgoing = outgoing
        self._core = core
        self.clock = clock
        self.window = window
        self.per_window = per_window
        self._edited: dict[DecisionRef, list[datetime]] = {}
        self._stale: set[DecisionRef] = set()
        self.edits = 0  # card refreshes made (each edits the decision's posted cards)

    async def answered(self, answers: Sequence[Answer]) -> None:
        """After a command: a decision it changed (a vote, a new deadline) has a stale card.
        The core answers a vote with a private confirmation whose intent names the decision;
        a read names the decision it shows and changes nothing."""
        if any(isinstance(a.intent, CARD_INTENTS) for a in answers):
            for answer in answers:
                if isinstance(answer.intent, CardClosed):
                    self._stale.discard(answer.intent.ref)  # its final edit was just made
            return  # the core already sent the new state along
        refs = {
            a.intent.about
            for a in answers
            if not isinstance(a.intent, CARD_INTENTS) and not is_read(a.intent)
        }
        for ref in sorted((r for r in refs if r is not None), key=lambda r: r.number):
            await self.changed(ref)

    def _may_edit(self, ref: DecisionRef, now: datetime) -> bool:
        recent = [at for at in self._edited.get(ref, []) if now - at < self.window]
        self._edited[ref] = recent
        return len(recent) < self.per_window

    async def changed(self, ref: DecisionRef) -> None:
        now = self.clock.now()
        if self._may_edit(ref, now):
            await self._refresh(ref, now)
        else:
            self._stale.add(ref)

    async def flush(self) -> int:
        """Edit the stale cards the window allows again; returns how many."""
        now = self.clock.now()
        due = [ref for ref in self._stale if self._may_edit(ref, now)]
        for ref in sorted(due, key=lambda r: (r.coop_id, r.number)):
            await self._refresh(ref, now)
        return len(due)

    async def _refresh(self, ref: DecisionRef, now: datetime) -> None:
        # Counted before the first await: votes arriving meanwhile wait their turn.
        self._edited.setdefault(ref, []).append(now)
        self._stale.discard(ref)
        if not await self._core().cards_of(PLATFORM, ref):
            return
        card = await self._core().card(ref)
        if card is not None and card.choices is not None:
            self.edits += 1
            await self.outgoing.edit_cards(card, ref)
