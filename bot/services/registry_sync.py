"""Syncs the member registry from a platform's roles, one binding at a time.

A binding's sync acts only as far as a steward allowed it (`coop sync`: off, members,
stewards), and only on the identities it admitted itself: another server bound to the same
co-op can neither remove nor promote them. Every change is recorded as a numbered
SyncChange (and audited) so that a steward can undo it; an undone change is held against
the next syncs until the platform shows something new for that identity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from bot.db.models import Coop, Identity, Member, RoomBinding, SyncChange
from bot.domain.vocabulary import Role
from bot.invocation import RoomRef
from bot.services.context import Context
from bot.services.members import create_member, end_membership, steward_count

MODES = ("off", "members", "stewards")


@dataclass(frozen=True)
class RoleHolder:
    """Someone who holds the configured member or steward role on a platform."""

    identity: str  # "discord:123"
    display_name: str
    role: Role


@dataclass
class SyncResult:
    added: int = 0
    changed: int = 0
    removed: int = 0


async def syncing_binding(ctx: Context, room: RoomRef) -> RoomBinding | None:
    """The binding of `room` when a steward turned its role sync on (and sets `ctx.coop`);
    None for an unbound room or one whose sync is off."""
    binding = await ctx.session.scalar(
        select(RoomBinding).where(
            RoomBinding.platform == room.platform, RoomBinding.room_id == room.room_id
        )
    )
    if binding is None or binding.role_sync not in ("members", "stewards"):
        return None
    ctx.coop = await ctx.session.get(Coop, binding.coop_id)
    return binding


def manages_roles(binding: RoomBinding, platform_knows_stewards: bool) -> bool:
    """Whether this binding's sync may make and unmake stewards: only when a steward
    allowed it for this binding and the platform says who its stewards are."""
    return platform_knows_stewards and binding.role_sync == "stewards"


async def apply_page(
    ctx: Context,
    binding: RoomBinding,
    holders: Sequence[RoleHolder],
    result: SyncResult,
    *,
    manage_roles: bool,
) -> None:
    """Admit role holders who are not in the registry and, with `manage_roles`, bring the
    roles of the identities this binding admitted in line; never demotes the last steward."""
    coop = ctx.require_coop()
    holds = await _holds(ctx, binding)
    for holder in holders:
        seen = holder.role if manage_roles else Role.MEMBER
        hold = holds.get(holder.identity)
        if hold is not None:
            if hold.platform_role == seen:
                continue  # a steward undid what this would do again
            hold.held = False  # the platform changed its mind since: the sync acts again
        found = (
            await ctx.session.execute(
                select(Identity, Member)
                .join(Member, Member.id == Identity.member_id)
                .where(
                    Identity.coop_id == coop.id,
                    Identity.identity == holder.identity,
                    Member.active,
                )
            )
        ).first()
        if found is None:
            member = await create_member(
                ctx,
                coop.id,
                holder.identity,
                holder.display_name[:100],
                seen,
                source_binding_id=binding.id,
            )
            await _record(ctx, binding, member, holder.identity, "add", None, seen, seen)
            result.added += 1
            continue
        identity, member = found
        if identity.source_binding_id != binding.id or not manage_roles or member.role == seen:
            continue
        if member.role == Role.STEWARD and await steward_count(ctx, coop.id) <= 1:
            continue
        before, member.role = member.role, seen
        await _record(ctx, binding, member, holder.identity, "role", before, seen, seen)
        result.changed += 1


async def remove_missing(
    ctx: Context, binding: RoomBinding, present: set[str], result: SyncResult
) -> None:
    """After a complete pass: members this binding admitted who no longer hold a role leave
    the registry. Never the last steward, and never someone with another identity (linked on
    another platform, or admitted by a person): that identity speaks for them too."""
    coop = ctx.require_coop()
    holds = await _holds(ctx, binding)
    for key, hold in holds.items():
        if key not in present and hold.platform_role is not None:
            hold.held = False  # the role that was undone is gone: nothing is held any more
    rows = (
        await ctx.session.execute(
            select(Identity, Member)
            .join(Member, Member.id == Identity.member_id)
            .where(Identity.source_binding_id == binding.id, Member.active)
            .order_by(Identity.id)
        )
    ).all()
    for identity, member in rows:
        if identity.identity in present:
            continue
        held = holds.get(identity.identity)
        if held is not None and held.held:
            continue
        if any(other.source_binding_id != binding.id for other in member.identities):
            continue
        if member.role == Role.STEWARD and await steward_count(ctx, coop.id) <= 1:
            continue
        member.active = False
        member.removed_at = ctx.clock.now()
        await end_membership(ctx, member)
        await _record(ctx, binding, member, identity.identity, "remove", member.role, None, None)
        result.removed += 1


async def _holds(ctx: Context, binding: RoomBinding) -> dict[str, SyncChange]:
    rows = (
        await ctx.session.scalars(
            select(SyncChange)
            .where(SyncChange.binding_id == binding.id, SyncChange.held)
            .order_by(SyncChange.id)
        )
    ).all()
    return {row.identity: row for row in rows}


async def _record(
    ctx: Context,
    binding: RoomBinding,
    member: Member,
    identity: str,
    action: str,
    before: str | None,
    after: str | None,
    seen: str | None,
) -> None:
    coop = ctx.require_coop()
    # Two servers' syncs of one co-op may run at once: the co-op's row lock (PostgreSQL;
    # SQLite transactions are serialised) makes their change numbers follow each other.
    await ctx.session.execute(select(Coop.id).where(Coop.id == coop.id).with_for_update())
    last = await ctx.session.scalar(
        select(func.max(SyncChange.number)).where(SyncChange.coop_id == coop.id)
    )
    number = int(last or 0) + 1
    ctx.session.add(
        SyncChange(
            coop_id=coop.id,
            number=number,
            binding_id=binding.id,
            member_id=member.id,
            identity=identity,
            action=action,
            role_before=before,
            role_after=after,
            platform_role=seen,
            at=ctx.clock.now(),
            held=False,
        )
    )
    detail = {"identity": identity, "source": "role sync", "binding": binding.id, "change": number}
    if action == "remove":
        ctx.audit("member.remove", f"member:{member.id}", **detail)
    else:
        ctx.audit(f"member.{action}", f"member:{member.id}", role=after, **detail)
