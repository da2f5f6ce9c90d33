"""Reads who holds the configured member and steward roles, a page at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord

from bot.domain.vocabulary import Role
from bot.services.registry_sync import RoleHolder

DEFAULT_PAGE_SIZE = 500


def identity_of(user_id: int) -> str:
    """The registry identity of a Discord user."""
    return f"discord:{user_id}"


def role_of(member: discord.Member, member_role: str, steward_role: str) -> Role | None:
    """The co-op role a guild member's Discord roles give them (steward wins when both);
    None for bots and for people holding neither role."""
    if member.bot:
        return None
    names = {role.name for role in member.roles}
    if steward_role and steward_role in names:
        return Role.STEWARD
    if member_role and member_role in names:
        return Role.MEMBER
    return None


def holder_of(member: discord.Member, member_role: str, steward_role: str) -> RoleHolder | None:
    """The member as the core's registry sync sees them, or None without a role."""
    role = role_of(member, member_role, steward_role)
    if role is None:
        return None
    return RoleHolder(identity_of(member.id), member.display_name, role)


async def role_holders(
    guild: discord.Guild,
    *,
    member_role: str,
    steward_role: str,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> AsyncIterator[list[RoleHolder]]:
    """Pages of the guild's role holders, in user-id order.

    Members are fetched over REST the way Discord pages them (1,000 per request), and
    handed on in pages of `page_size`, so a 10,000-member server is never held in one list
    and the registry can be updated one transaction per page. Needs the members intent."""
    if page_size < 1:
        raise ValueError("page_size must be positive")
    page: list[RoleHolder] = []
    async for member in guild.fetch_members(limit=None):
        holder = holder_of(member, member_role, steward_role)
        if holder is None:
            continue
        page.append(holder)
        if len(page) == page_size:
            yield page
            page = []
    if page:
        yield page
