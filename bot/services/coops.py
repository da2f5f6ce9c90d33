"""Co-ops and their rooms: setup, binding another room, settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot import write_watch
from bot.db.models import Coop, Identity, Member, RoomBinding
from bot.domain.limits import check_text
from bot.domain.vocabulary import Role
from bot.errors import UserError
from bot.invocation import Actor, RoomRef
from bot.services import codes
from bot.services.codes import CodeRefused
from bot.services.context import Context
from bot.services.coop_config import validate_override
from bot.services.members import create_member, member_by_identity


async def coop_for_room(ctx: Context, room: RoomRef) -> Coop | None:
    return await ctx.session.scalar(
        select(Coop)
        .join(RoomBinding, RoomBinding.coop_id == Coop.id)
        .where(RoomBinding.platform == room.platform, RoomBinding.room_id == room.room_id)
    )


async def coop_of_person(ctx: Context, identity: str) -> Coop | None:
    """The co-op an identity is an active member of, for a direct message to the bot.
    Someone in several co-ops is asked to use the co-op's room instead."""
    found = (
        await ctx.session.scalars(
            select(Coop)
            .join(Identity, Identity.coop_id == Coop.id)
            .join(Member, Member.id == Identity.member_id)
            .where(Identity.identity == identity, Member.active)
            .order_by(Coop.id)
        )
    ).all()
    if len(found) > 1:
        names = ", ".join(coop.name for coop in found)
        raise UserError(
            f"You belong to several co-ops ({names}); this message can't tell which",
            "send the command in the co-op's room instead",
        )
    return found[0] if found else None


async def setup(ctx: Context, name: str, room: RoomRef, founder: Actor) -> tuple[Coop, Member]:
    """Create a co-op bound to `room`; `founder` becomes its first steward."""
    if await coop_for_room(ctx, room) is not None:
        existing = await coop_for_room(ctx, room)
        assert existing is not None
        raise UserError(
            f"This room already belongs to {existing.name}", "one room is bound to one co-op"
        )
    name = check_text("co-op name", name, 100)
    now = ctx.clock.now()
    coop = Coop(name=name, created_at=now, settings={})
    ctx.session.add(coop)
    await ctx.session.flush()
    await write_watch.due_changed(ctx.session)
    await write_watch.rooms_changed(ctx.session)
    ctx.session.add(
        RoomBinding(coop_id=coop.id, platform=room.platform, room_id=room.room_id, created_at=now)
    )
    ctx.coop = coop
    steward = await create_member(
        ctx, coop.id, founder.identity, founder.display_name, Role.STEWARD
    )
    ctx.actor = steward
    ctx.audit("coop.setup", f"coop:{coop.id}", name=name, room=room.key)
    return coop, steward


async def bind(ctx: Context, code: str, room: RoomRef, admin: Actor) -> Coop | CodeRefused:
    """Bind `room` to the co-op that issued `code`. Role sync starts "off" for the new
    binding: only a steward of the co-op turns it on (`coop sync`)."""
    if (existing := await coop_for_room(ctx, room)) is not None:
        raise UserError(f"This room already belongs to {existing.name}")
    row = await codes.redeem(ctx, code, "bind", scope=f"room:{room.key}")
    if isinstance(row, CodeRefused):
        return row
    coop = await ctx.session.get(Coop, row.coop_id)
    assert coop is not None
    ctx.session.add(
        RoomBinding(
            coop_id=coop.id,
            platform=room.platform,
            room_id=room.room_id,
            created_at=ctx.clock.now(),
        )
    )
    await write_watch.rooms_changed(ctx.session)
    ctx.coop = coop
    ctx.actor = await member_by_identity(ctx, coop.id, admin.identity)
    ctx.audit("coop.bind", f"coop:{coop.id}", room=room.key)
    return coop


async def change_settings(ctx: Context, changes: dict[str, str]) -> dict[str, Any]:
    coop = ctx.require_coop()
    validated = {key: validate_override(key, value) for key, value in changes.items()}
    merged = dict(coop.settings)
    merged.update(validated)
    coop.settings = merged
    await write_watch.due_changed(ctx.session)
    if {"timezone", "summary_cron"} & validated.keys():
        coop.next_summary_at = None  # the due-work pass recomputes it on the new schedule
    ctx.forget_config()
    ctx.audit("coop.settings", f"coop:{coop.id}", **{k: str(v) for k, v in validated.items()})
    return validated
