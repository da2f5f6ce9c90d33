"""Read-only lookups an adapter makes beside commands: a decision's card and voting
choices, its co-op's threads setting, autocomplete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.commands.args import ShowArgs
from bot.commands.handlers import Handler
from bot.config import Settings
from bot.db.models import Coop
from bot.domain.text import clean_name
from bot.errors import UserError
from bot.intents import DecisionRef
from bot.invocation import RoomRef
from bot.render.document import Choices, Reply
from bot.services.context import Context
from bot.services.coop_config import effective
from bot.services.coops import coop_for_room
from bot.services.suggest import suggestions


class Lookups:
    """Answers that read the database and change nothing."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        handlers: Mapping[type, Handler[Any]],
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings
        self._handlers = handlers

    async def card(self, ref: DecisionRef) -> Reply | None:
        """The decision's card as it stands now (what `show` answers), to refresh the cards
        posted about it; None when there is no such decision. Reads only."""
        async with self._sessions() as session:
            ctx = Context(session=session, clock=self._clock, settings=self._settings)
            ctx.coop = await session.get(Coop, ref.coop_id)
            if ctx.coop is None:
                return None
            try:
                replies = await self._handlers[ShowArgs](ctx, ShowArgs(id=ref.number))
            except UserError:
                return None
        return replies[0] if replies else None

    async def vote_choices(self, room: RoomRef, number: int) -> Choices | None:
        """The voting choices of open decision #`number` of `room`'s co-op (its method, its
        options, how to vote by text), for a platform that completes a vote while typed."""
        async with self._sessions() as session:
            ctx = Context(session=session, clock=self._clock, settings=self._settings)
            coop = await coop_for_room(ctx, room)
        if coop is None:
            return None
        card = await self.card(DecisionRef(coop_id=coop.id, number=number))
        choices = card.choices if card is not None else None
        return choices if choices is not None and not choices.closed else None

    async def threads_on(self, ref: DecisionRef) -> bool:
        """Whether decision `ref`'s co-op keeps a thread per decision (`coop settings
        threads:on`): its card starts one, and its reminders and result go there."""
        async with self._sessions() as session:
            coop = await session.get(Coop, ref.coop_id)
            if coop is None:
                return False
            return effective(self._settings.defaults, coop.settings).threads

    async def suggest(
        self, room: RoomRef, kind: str, prefix: str, limit: int = 25
    ) -> Sequence[tuple[int, str]]:
        """Open decisions (kind "decision") or open and claimed tasks (kind "task") of the
        room's co-op whose number starts with, or title contains, `prefix` (autocomplete)."""
        async with self._sessions() as session:
            ctx = Context(session=session, clock=self._clock, settings=self._settings)
            coop = await coop_for_room(ctx, room)
            if coop is None:
                return []
            return await suggestions(session, coop.id, kind, clean_name(prefix), limit)
