"""The `help` command, generated from the command tree, and `about`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.commands.handlers import Handler
from bot.commands.help import help_reply
from bot.commands.parser import ParsedCommand
from bot.commands.spec import Command
from bot.commands.tree import CommandTree
from bot.db.models import Decision
from bot.render.decisions import choices as decision_choices
from bot.render.document import Bold, Line, Reply, line
from bot.render.examples import worked_example
from bot.services.context import Context
from bot.services.suggest import suggestions


def help_handlers(tree: CommandTree) -> dict[str, Handler]:
    async def show_help(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
        topic = cmd.values.get("command")
        reply = help_reply(tree, ctx.prefix, str(topic) if topic else None)
        if topic and ctx.coop is not None:
            found = tree.match(str(topic).removeprefix(ctx.prefix).split())
            example = await _worked_example(ctx, found[0]) if found is not None else None
            if example is not None:
                reply = reply.model_copy(update={"blocks": (*reply.blocks, example)})
        return [reply]

    return {"help": show_help, "about": about}


async def _worked_example(ctx: Context, command: Command) -> Line | None:
    """The command's example with the co-op's current items (bot.render.examples)."""
    coop = ctx.require_coop()
    decisions = await suggestions(ctx.session, coop.id, "decision", "", 1)
    tasks = await suggestions(ctx.session, coop.id, "task", "", 1)
    decision = decisions[0] if decisions else None
    choices = None
    if decision is not None and command.path == ("vote",):
        found = await ctx.session.scalar(
            select(Decision)
            .where(Decision.coop_id == coop.id, Decision.number == decision[0])
            .options(selectinload(Decision.options))
        )
        choices = decision_choices(found) if found is not None else None
    return worked_example(command, decision, tasks[0] if tasks else None, choices)


async def about(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    """The version and the source (AGPL-3.0 §13: users of a network service can get it)."""
    from bot import __version__

    url = ctx.settings.source_url
    where = url or "ask the operator of this bot (they have not set source_url yet)"
    return [
        Reply(
            blocks=(
                line(
                    Bold(text=f"coopbot {__version__}"), ", free software under AGPL-3.0-or-later"
                ),
                line(f"source code: {where}", indent=1),
            )
        )
    ]
