"""Handler for `coop outbox`: a steward sees what could not be delivered and retries it."""

from __future__ import annotations

from typing import Any

from bot.commands.args import CoopOutboxArgs
from bot.commands.handlers import Route, route
from bot.render import outbox as render_outbox
from bot.render.document import Reply
from bot.services import outbox
from bot.services.context import Context


async def coop_outbox(ctx: Context, args: CoopOutboxArgs) -> list[Reply]:
    coop = ctx.require_coop()
    if (args.action or "list").lower() == "retry":
        count = await outbox.retry_dead(ctx.session, ctx.clock, coop.id)
        if count:
            ctx.audit("outbox.retry", f"coop:{coop.id}", deliveries=count)
        return [render_outbox.retried(coop.name, count)]
    total, letters = await outbox.dead_letters(ctx.session, coop.id)
    waiting = await outbox.waiting_count(ctx.session, coop.id)
    return [render_outbox.dead_letters(coop.name, total, letters, waiting, ctx.config.timezone)]


def routes() -> list[Route[Any]]:
    return [route(CoopOutboxArgs, coop_outbox)]
