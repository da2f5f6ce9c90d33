"""The edits of one decision's Discord cards take turns: one lock per decision, held while
an edit goes out (a vote's refresh, the close, an outbox copy), and the close remembered
under it, so that a refresh read before the decision closed never lands after the close's
edit (the result stays on the card)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.ports import DecisionRef


@dataclass
class CardTurn:
    """One decision's turn-taking: its edit `lock`, whether its close has been shown, and
    `reading`, which keeps its refreshes in turn from their read to their edit (each shows
    the decision as read when it is sent, so a refresh never overtakes a newer one). A
    refresh reads without the edit `lock`: the close's edit never waits for a read."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reading: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False
    users: int = 0  # edits begun (a refresh counts from its read) and not yet done


class CardTurns:
    """A decision's turn is kept while any edit of its cards is on its way (a refresh from
    before its read), and forgotten once none is: memory follows the edits in flight."""

    def __init__(self) -> None:
        self._turns: dict[DecisionRef, CardTurn] = {}

    @asynccontextmanager
    async def of(self, ref: DecisionRef) -> AsyncIterator[CardTurn]:
        """The turn of `ref`'s cards, held by the caller from now until it is done with
        them (take its `lock` around each edit)."""
        turn = self._turns.setdefault(ref, CardTurn())
        turn.users += 1
        try:
            yield turn
        finally:
            turn.users -= 1
            if turn.users == 0 and self._turns.get(ref) is turn:
                del self._turns[ref]

    def in_flight(self) -> int:
        """Decisions with an edit on its way (tests)."""
        return len(self._turns)
