"""Keeps the registry of every co-op bound in a guild in line with the guild's member and
steward roles: a full paged pass per guild, at start-up and after role changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Protocol, runtime_checkable

import discord

from adapters.discord.render import PLATFORM
from adapters.discord.roles import DEFAULT_PAGE_SIZE, role_holders, role_of
from bot.config import DiscordSettings
from bot.domain.vocabulary import Role
from bot.invocation import RoomRef
from bot.services.registry_sync import RoleHolder, SyncResult

log = logging.getLogger(__name__)


@runtime_checkable
class RoleSyncCore(Protocol):
    """The part of the core a role sync needs (bot.app.Core has it)."""

    async def sync_role_members(
        self,
        room: RoomRef,
        pages: AsyncIterator[Sequence[RoleHolder]],
        *,
        manage_roles: bool = True,
    ) -> SyncResult: ...


def _add(total: SyncResult, part: SyncResult) -> None:
    total.added += part.added
    total.changed += part.changed
    total.removed += part.removed


class RoleSync:
    """Runs role syncs for guilds, at most one at a time per guild.

    A request while a guild's sync runs is remembered and served by one more pass when it
    ends, so a steward handing out fifty roles costs two passes, not fifty. Every pass
    reads the whole guild: the core removes people who lost their role only after a
    complete pass, so a partial one could never notice a removal."""

    def __init__(
        self,
        settings: DiscordSettings,
        client: discord.Client,
        core: Callable[[], object],
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self._member_role = settings.member_role
        self._steward_role = settings.steward_role
        self._client = client
        self._core = core
        self._page_size = page_size
        self._running: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()

    @property
    def enabled(self) -> bool:
        return bool(self._member_role or self._steward_role)

    def role_of(self, member: discord.Member) -> Role | None:
        return role_of(member, self._member_role, self._steward_role)

    # ------------------------------------------------------------------ triggers

    def request(self, guild_id: int) -> None:
        """Sync the guild's co-ops soon (in the background)."""
        if not self.enabled:
            return
        if guild_id in self._running:
            self._again.add(guild_id)
            return
        self._running[guild_id] = asyncio.create_task(
            self._run(guild_id), name=f"coopbot role sync {guild_id}"
        )

    def request_all(self) -> None:
        for guild in self._client.guilds:
            self.request(guild.id)

    def member_changed(self, before: discord.Member, after: discord.Member) -> None:
        # Nicknames and other roles change often and matter not: only the co-op role does.
        if self.role_of(before) != self.role_of(after):
            self.request(after.guild.id)

    def member_left(self, payload: discord.RawMemberRemoveEvent) -> None:
        user = payload.user
        if isinstance(user, discord.Member) and self.role_of(user) is None:
            return
        self.request(payload.guild_id)

    def role_changed(self, before: discord.Role, after: discord.Role) -> None:
        if before.name != after.name and self._configured({before.name, after.name}):
            self.request(after.guild.id)

    def _configured(self, names: set[str]) -> bool:
        return bool(names & {self._member_role, self._steward_role} - {""})

    # ------------------------------------------------------------------ passes

    async def wait(self) -> None:
        """Return once no sync is running or asked for (start-up checks and tests)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    def cancel(self) -> None:
        for task in self._running.values():
            task.cancel()

    async def _run(self, guild_id: int) -> None:
        try:
            while True:
                self._again.discard(guild_id)
                try:
                    result = await self.sync_guild(guild_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The registry keeps its last good state; the next role change or
                    # restart tries again.
                    log.exception("role sync of guild %s failed", guild_id)
                else:
                    log.info(
                        "role sync of guild %s: %s added, %s changed, %s removed",
                        guild_id,
                        result.added,
                        result.changed,
                        result.removed,
                    )
                if guild_id not in self._again:
                    return
        finally:
            self._running.pop(guild_id, None)

    async def sync_guild(self, guild_id: int) -> SyncResult:
        """One full pass over the guild's role holders for each co-op bound in it."""
        total = SyncResult()
        guild = self._client.get_guild(guild_id)
        core = self._core()
        if guild is None or not isinstance(core, RoleSyncCore):
            return total
        missing = self._missing_roles(guild)
        if missing:
            # A misspelt or deleted role would otherwise look like nobody holding it and
            # empty the registry; the registry stays as it is until the role exists.
            log.warning(
                "role sync of guild %s skipped: it has no role named %s",
                guild_id,
                " or ".join(repr(name) for name in missing),
            )
            return total
        rooms: list[discord.abc.Snowflake] = [*guild.text_channels, *guild.threads]
        for channel in rooms:
            room = RoomRef(PLATFORM, str(channel.id))
            async with contextlib.aclosing(self._pages(guild)) as pages:
                # Without a steward role, Discord only says who belongs, not who leads.
                part = await core.sync_role_members(
                    room, pages, manage_roles=bool(self._steward_role)
                )
            _add(total, part)
        return total

    def _missing_roles(self, guild: discord.Guild) -> list[str]:
        present = {role.name for role in guild.roles}
        wanted = [self._member_role, self._steward_role]
        return [name for name in wanted if name and name not in present]

    async def _pages(self, guild: discord.Guild) -> AsyncGenerator[Sequence[RoleHolder], None]:
        # The core looks the room's co-op up before it asks for a second page, so an empty
        # first page makes an unbound channel cost one query and no member fetch at all.
        yield []
        async for page in role_holders(
            guild,
            member_role=self._member_role,
            steward_role=self._steward_role,
            page_size=self._page_size,
        ):
            yield page
