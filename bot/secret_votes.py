"""Whether a typed command votes on a secret decision, remembered per room and number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.commands.args import VoteArgs
from bot.commands.parser import parse
from bot.commands.tree import CommandTree
from bot.config import Settings
from bot.db.models import Decision
from bot.errors import UserError
from bot.intents import DecisionRef
from bot.invocation import Invocation, RoomRef
from bot.services.context import Context
from bot.services.coops import coop_for_room


class SecretVotes:
    """The secret flag of a decision never changes; which co-op a room belongs to does
    (bind, unbind), and then every lookup by room is forgotten (`rooms_changed`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        tree: CommandTree,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings
        self._tree = tree
        self._secret: dict[tuple[str, str, int], DecisionRef | None] = {}
        self._rooms_generation = 0

    def rooms_changed(self) -> None:
        self._rooms_generation += 1
        self._secret.clear()

    async def secret_vote(self, invocation: Invocation) -> DecisionRef | None:
        """The secret decision a command votes on in its room's co-op, else None: a platform
        where every room message is public removes such a message (Matrix redacts it),
        also when the vote itself is refused."""
        prefix = self._settings.prefix_for(invocation.room.platform)
        try:
            cmd = parse(invocation.text, self._tree, prefix)
        except UserError:
            return None
        if not isinstance(cmd.args, VoteArgs):
            return None
        number = cmd.args.id
        key = (invocation.room.platform, invocation.room.room_id, number)
        if key in self._secret:
            return self._secret[key]  # no round trip before a vote on a known decision
        generation = self._rooms_generation
        exists, found = await self._look_up_secret(invocation.room, number)
        if exists and generation == self._rooms_generation:
            self._secret[key] = found
        return found

    async def _look_up_secret(self, room: RoomRef, number: int) -> tuple[bool, DecisionRef | None]:
        """Whether decision `number` of `room`'s co-op exists (only then is the answer
        remembered), and it if it is secret."""
        async with self._sessions() as session:
            ctx = Context(session=session, clock=self._clock, settings=self._settings)
            coop = await coop_for_room(ctx, room)
            if coop is None:
                return False, None
            secret = await session.scalar(
                select(Decision.secret).where(
                    Decision.coop_id == coop.id, Decision.number == number
                )
            )
        ref = DecisionRef(coop_id=coop.id, number=number) if secret else None
        return secret is not None, ref
