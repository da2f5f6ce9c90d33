"""What stewards decide about role sync: what each bound room's roles may do to the
registry (`coop sync`), which changes the syncs made, and undoing one (`coop undo`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.db.models import Identity, Member, RoomBinding, SyncChange
from bot.domain.vocabulary import Role
from bot.errors import UserError
from bot.invocation import RoomRef
from bot.services.context import Context
from bot.services.members import end_membership, start_membership, steward_count, unique_name
from bot.services.registry_sync import MODES

RECENT = 10


@dataclass(frozen=True)
class BindingSync:
    """One bound room and what its roles may do."""

    room: RoomRef
    mode: str
    here: bool


@dataclass(frozen=True)
class ChangeView:
    """One change a sync made, for stewards to read (and undo)."""

    number: int
    action: str  # add | remove | role
    member: Member
    role_before: Role | None
    role_after: Role | None
    room: RoomRef
    at: datetime
    undone: bool


@dataclass(frozen=True)
class SyncOverview:
    bindings: Sequence[BindingSync]
    changes: Sequence[ChangeView]


async def overview(ctx: Context, here: RoomRef) -> SyncOverview:
    """Every bound room of the co-op with its sync mode, and the latest changes."""
    coop = ctx.require_coop()
    bindings = (
        await ctx.session.scalars(
            select(RoomBinding).where(RoomBinding.coop_id == coop.id).order_by(RoomBinding.id)
        )
    ).all()
    rooms = {b.id: RoomRef(b.platform, b.room_id) for b in bindings}
    rows = (
        await ctx.session.execute(
            select(SyncChange, Member)
            .join(Member, Member.id == SyncChange.member_id)
            .where(SyncChange.coop_id == coop.id)
            .order_by(SyncChange.number.desc())
            .limit(RECENT)
        )
    ).all()
    return SyncOverview(
        bindings=[BindingSync(rooms[b.id], b.role_sync, rooms[b.id] == here) for b in bindings],
        changes=[
            ChangeView(
                number=change.number,
                action=change.action,
                member=member,
                role_before=change.role_before,
                role_after=change.role_after,
                room=rooms[change.binding_id],
                at=change.at,
                undone=change.undone_at is not None,
            )
            for change, member in rows
        ],
    )


async def set_mode(ctx: Context, room: RoomRef, mode: str, *, platform_syncs: bool) -> str:
    """Set what `room`'s roles may do; returns the mode now in force. `platform_syncs` says
    whether the room's platform syncs roles at all (the adapter's capability)."""
    coop = ctx.require_coop()
    if mode not in MODES:
        raise UserError(
            f"`{mode}` is not a sync mode", f"choose {', '.join(MODES[:-1])} or {MODES[-1]}"
        )
    binding = await ctx.session.scalar(
        select(RoomBinding).where(
            RoomBinding.coop_id == coop.id,
            RoomBinding.platform == room.platform,
            RoomBinding.room_id == room.room_id,
        )
    )
    if binding is None:
        raise UserError(
            "Role sync is set per bound room, and this room is not one of them",
            f"run `{ctx.prefix}coop sync <mode>` in the room whose roles it is about",
        )
    if mode != "off" and not platform_syncs:
        raise UserError(
            "This room's platform does not sync roles here",
            "the operator turns role sync on in the bot's config (on Discord: member_role, "
            "steward_role)",
        )
    before, binding.role_sync = binding.role_sync, mode
    ctx.audit("coop.sync", f"coop:{coop.id}", room=room.key, mode=mode, before=before)
    return mode


async def undo(ctx: Context, number: int) -> ChangeView:
    """Reverse change `number` and hold it: that binding's sync leaves the identity alone
    until the platform shows something new for it."""
    coop = ctx.require_coop()
    change = await ctx.session.scalar(
        select(SyncChange).where(SyncChange.coop_id == coop.id, SyncChange.number == number)
    )
    if change is None:
        raise UserError(
            f"There is no role sync change {number} in {coop.name}",
            f"see the latest ones with `{ctx.prefix}coop sync`",
        )
    if change.undone_at is not None:
        raise UserError(f"Change {number} was undone already")
    member = await ctx.session.get(Member, change.member_id)
    assert member is not None
    if change.action == "add":
        await _undo_add(ctx, number, member)
    elif change.action == "remove":
        await _undo_remove(ctx, number, member, change.identity)
    else:
        await _undo_role(ctx, number, member, change)
    change.undone_at = ctx.clock.now()
    change.undone_by = ctx.actor.id if ctx.actor else None
    change.held = True
    ctx.audit(
        "member.sync_undo",
        f"member:{member.id}",
        change=number,
        undid=change.action,
        identity=change.identity,
    )
    binding = await ctx.session.get(RoomBinding, change.binding_id)
    assert binding is not None
    return ChangeView(
        number=number,
        action=change.action,
        member=member,
        role_before=change.role_before,
        role_after=change.role_after,
        room=RoomRef(binding.platform, binding.room_id),
        at=change.at,
        undone=True,
    )


def _gone(number: int, member: Member) -> UserError:
    return UserError(
        f"Change {number} no longer holds: @{member.name}'s membership changed since",
        "only a change still in force can be undone",
    )


async def _undo_add(ctx: Context, number: int, member: Member) -> None:
    coop = ctx.require_coop()
    if not member.active:
        raise _gone(number, member)
    if member.role == Role.STEWARD and await steward_count(ctx, coop.id) <= 1:
        raise UserError(f"@{member.name} is the last steward of {coop.name}; appoint another first")
    member.active = False
    member.removed_at = ctx.clock.now()
    await end_membership(ctx, member)


async def _undo_remove(ctx: Context, number: int, member: Member, identity: str) -> None:
    coop = ctx.require_coop()
    still_theirs = await ctx.session.scalar(
        select(Identity.id).where(
            Identity.coop_id == coop.id,
            Identity.identity == identity,
            Identity.member_id == member.id,
        )
    )
    if member.active or still_theirs is None:
        raise _gone(number, member)
    member.name = await unique_name(ctx, coop.id, member.name)
    member.active = True
    member.removed_at = None
    await start_membership(ctx, member)


async def _undo_role(ctx: Context, number: int, member: Member, change: SyncChange) -> None:
    coop = ctx.require_coop()
    if not member.active or member.role != change.role_after or change.role_before is None:
        raise _gone(number, member)
    if member.role == Role.STEWARD and await steward_count(ctx, coop.id) <= 1:
        raise UserError(f"@{member.name} is the last steward of {coop.name}; appoint another first")
    member.role = change.role_before
