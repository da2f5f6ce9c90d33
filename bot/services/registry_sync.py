"""Syncs the member registry from a platform's roles (Discord member/steward roles)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from bot.db.models import Identity, Member
from bot.services.context import Context
from bot.services.members import create_member, member_by_identity, steward_count


@dataclass(frozen=True)
class RoleHolder:
    """Someone who holds the configured member or steward role on a platform."""

    identity: str  # "discord:123"
    display_name: str
    role: str  # member | steward


@dataclass
class SyncResult:
    added: int = 0
    changed: int = 0
    removed: int = 0


async def apply_page(
    ctx: Context, holders: Sequence[RoleHolder], result: SyncResult, *, manage_roles: bool = True
) -> None:
    """Admit new role holders and, when the platform also says who the stewards are
    (`manage_roles`), bring roles in line; never demotes the last steward."""
    coop = ctx.require_coop()
    for holder in holders:
        member = await member_by_identity(ctx, coop.id, holder.identity)
        if member is None:
            old = await ctx.session.scalar(
                select(Identity).where(
                    Identity.coop_id == coop.id, Identity.identity == holder.identity
                )
            )
            if old is not None:
                await ctx.session.delete(old)
                await ctx.session.flush()
            created = await create_member(
                ctx, coop.id, holder.identity, holder.display_name[:100], holder.role
            )
            ctx.audit(
                "member.add",
                f"member:{created.id}",
                identity=holder.identity,
                role=holder.role,
                source="role sync",
            )
            result.added += 1
        elif manage_roles and member.role != holder.role:
            if member.role == "steward" and await steward_count(ctx, coop.id) <= 1:
                continue
            member.role = holder.role
            ctx.audit("member.role", f"member:{member.id}", role=holder.role, source="role sync")
            result.changed += 1


async def remove_missing(
    ctx: Context, platform: str, present: set[str], result: SyncResult
) -> None:
    """After a complete pass: members known only through `platform` who no longer hold a
    role leave the registry (never the last steward; people linked on another platform
    stay, since that platform speaks for them too)."""
    coop = ctx.require_coop()
    members = (
        await ctx.session.scalars(select(Member).where(Member.coop_id == coop.id, Member.active))
    ).all()
    for member in members:
        identities = [i.identity for i in member.identities]
        if not identities or any(not i.startswith(f"{platform}:") for i in identities):
            continue
        if any(i in present for i in identities):
            continue
        if member.role == "steward" and await steward_count(ctx, coop.id) <= 1:
            continue
        member.active = False
        member.removed_at = ctx.clock.now()
        ctx.audit("member.remove", f"member:{member.id}", source="role sync")
        result.removed += 1
