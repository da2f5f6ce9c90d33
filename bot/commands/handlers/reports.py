"""Handler for `summary`: a steward posts the weekly summary now."""

from __future__ import annotations

from typing import Any

from bot.commands.args import SummaryArgs
from bot.commands.handlers import Route, route
from bot.render.document import Reply
from bot.services import summaries
from bot.services.announce import announce_from_command
from bot.services.context import Context


async def summary(ctx: Context, args: SummaryArgs) -> list[Reply]:
    """The invoking room gets it as the answer; the co-op's other rooms through the outbox.
    No dedupe key: a steward may post it again on purpose, e.g. after a late correction."""
    reply = await summaries.weekly_summary(ctx, ctx.clock.now())
    await announce_from_command(ctx, reply)
    # Posting to every bound room is a change: audited, and so answered durably.
    ctx.audit("summary.post", f"coop:{ctx.require_coop().id}")
    return [reply]


def routes() -> list[Route[Any]]:
    return [route(SummaryArgs, summary)]
