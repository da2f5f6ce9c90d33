"""The `help` command, generated from the command tree, and `about`."""

from __future__ import annotations

from typing import Any

from bot.commands.args import AboutArgs, HelpArgs
from bot.commands.handlers import Route, route
from bot.commands.help import help_reply
from bot.commands.tree import CommandTree
from bot.render.document import Bold, Reply, line
from bot.services.context import Context


def help_routes(tree: CommandTree) -> list[Route[Any]]:
    async def show_help(ctx: Context, args: HelpArgs) -> list[Reply]:
        return [help_reply(tree, ctx.prefix, args.command or None)]

    return [route(HelpArgs, show_help), route(AboutArgs, about)]


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
