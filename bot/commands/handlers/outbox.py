"""Handler for `coop outbox`: a steward sees what could not be delivered and retries it."""

from __future__ import annotations

from bot.commands.handlers import Handler
from bot.commands.parser import ParsedCommand
from bot.render import outbox as render_outbox
from bot.render.document import Reply
from bot.services import outbox
from bot.services.context import Context


async def coop_outbox(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    coop = ctx.require_coop()
    if str(cmd.values.get("action") or "list").lower() == "retry":
        count = await outbox.retry_dead(ctx.session, ctx.clock, coop.id)
        if count:
            ctx.audit("outbox.retry", f"coop:{coop.id}", deliveries=count)
        return [render_outbox.retried(coop.name, count)]
    total, letters = await outbox.dead_letters(ctx.session, coop.id)
    waiting = await outbox.waiting_count(ctx.session, coop.id)
    return [render_outbox.dead_letters(coop.name, total, letters, waiting, ctx.config.timezone)]


def handlers() -> dict[str, Handler]:
    return {"coop outbox": coop_outbox}
