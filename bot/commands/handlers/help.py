"""The `help` command, generated from the command tree, and `about`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.commands.args import AboutArgs, HelpArgs
from bot.commands.handlers import Route, route
from bot.commands.help import help_reply
from bot.commands.spec import Command
from bot.commands.tree import CommandTree
from bot.db.models import Decision
from bot.render.decisions import choices as decision_choices
from bot.render.document import Bold, Line, Reply, line
from bot.render.examples import worked_example
from bot.services.context import Context
from bot.services.suggest import suggestions


def help_routes(tree: CommandTree) -> list[Route[Any]]:
    async def show_help(ctx: Context, args: HelpArgs) -> list[Reply]:
        topic = args.command or None
        reply = help_reply(tree, ctx.prefix, topic)
        if topic and ctx.coop is not None:
            found = tree.match(topic.removeprefix(ctx.prefix).split())
            example = await _worked_example(ctx, found[0]) if found is not None else None
            if example is not None:
                reply = reply.model_copy(update={"blocks": (*reply.blocks, example)})
        return [reply]

    return [route(HelpArgs, show_help), route(AboutArgs, about)]


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


async def about(ctx: Context, args: AboutArgs) -> list[Reply]:
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
