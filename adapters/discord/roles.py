"""Reads who holds the configured member and steward roles, a page at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

import discord

DEFAULT_PAGE_SIZE = 500


@dataclass(frozen=True)
class RoleHolder:
    """A guild member holding the member or steward role (steward wins when both)."""

    user_id: str
    display_name: str
    role: Literal["member", "steward"]

    @property
    def identity(self) -> str:
        return f"discord:{self.user_id}"


def _role_of(
    member: discord.Member, member_role: str, steward_role: str
) -> Literal["member", "steward"] | None:
    names = {role.name for role in member.roles}
    if steward_role and steward_role in names:
        return "steward"
    if member_role and member_role in names:
        return "member"
    return None


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
        if member.bot:
            continue
        role = _role_of(member, member_role, steward_role)
        if role is None:
            continue
        page.append(RoleHolder(str(member.id), member.display_name, role))
        if len(page) == page_size:
            yield page
            page = []
    if page:
        yield page
