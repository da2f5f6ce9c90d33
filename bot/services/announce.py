"""Announcing a change made by a command: to the other bound rooms through the outbox."""

from __future__ import annotations

from bot.render.document import Reply
from bot.services import outbox
from bot.services.context import Context


async def announce_from_command(
    ctx: Context, reply: Reply, *, dedupe_key: str | None = None
) -> bool:
    """The invoking room sees `reply` as the command's answer; every other room bound to the
    co-op (a bridged co-op) gets it through the outbox."""
    coop = ctx.require_coop()
    return await outbox.announce(
        ctx.session,
        ctx.clock,
        coop.id,
        reply,
        dedupe_key=dedupe_key,
        skip_room=ctx.invocation.room if ctx.invocation else None,
    )
