"""A room's binding to a co-op as the platform side sees it: whether there is one, the
members its role holders admit (role sync), and the console's first co-op."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.domain.text import clean_name
from bot.invocation import Actor, RoomRef
from bot.services import registry_sync
from bot.services.context import Context
from bot.services.coops import coop_for_room, setup
from bot.services.registry_sync import RoleHolder, SyncResult


class RoomBinding:
    """Reads and writes a room's binding outside a typed command."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings

    def _context(self, session: AsyncSession) -> Context:
        return Context(session=session, clock=self._clock, settings=self._settings)

    async def room_is_bound(self, room: RoomRef) -> bool:
        """Whether `room` is bound to a co-op. An adapter never calls a bound room a direct
        message, even when only the bot and one person are in it: others may join and read."""
        async with self._sessions() as session:
            return await coop_for_room(self._context(session), room) is not None

    async def sync_role_members(
        self,
        room: RoomRef,
        pages: AsyncIterator[Sequence[RoleHolder]],
        *,
        manage_roles: bool = True,
    ) -> SyncResult:
        """Bring the identities that `room`'s binding admitted in line with the platform's
        role holders, one transaction per page (so a 10,000-member server is never one huge
        transaction); after the last page, those it admitted who hold no role leave.

        Nothing happens unless a steward turned sync on for this binding (`coop sync`).
        `manage_roles` says whether the platform knows who its stewards are; roles follow it
        only where a steward allowed that for this binding."""
        result = SyncResult()
        present: set[str] = set()
        binding_id: int | None = None
        async for raw_page in pages:
            # Names come from the platform, not from a command: they are cleaned here, as
            # an invocation's are at the dispatcher (bot.edge).
            page = [replace(h, display_name=clean_name(h.display_name)) for h in raw_page]
            present.update(holder.identity for holder in page)
            async with self._sessions() as session, session.begin():
                ctx = self._context(session)
                binding = await registry_sync.syncing_binding(ctx, room)
                if binding is None or binding_id not in (None, binding.id):
                    return result  # sync was turned off (or the room rebound) meanwhile
                binding_id = binding.id
                manage = registry_sync.manages_roles(binding, manage_roles)
                await registry_sync.apply_page(ctx, binding, page, result, manage_roles=manage)
        async with self._sessions() as session, session.begin():
            ctx = self._context(session)
            binding = await registry_sync.syncing_binding(ctx, room)
            if binding is not None and binding_id in (None, binding.id):
                await registry_sync.remove_missing(ctx, binding, present, result)
        return result

    async def bootstrap_room(self, room: RoomRef, founder: Actor, name: str) -> bool:
        """Bind `room` to a new co-op called `name` with `founder` as steward, unless the
        room is bound already (the console's "Local co-op"). Returns whether it created one."""
        async with self._sessions() as session, session.begin():
            ctx = self._context(session)
            if await coop_for_room(ctx, room) is not None:
                return False
            await setup(ctx, name, room, founder)
            return True
