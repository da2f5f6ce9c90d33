"""The `help` command, generated from the command tree, and `about`."""

from __future__ import annotations

from bot.commands.handlers import Handler
from bot.commands.help import help_reply
from bot.commands.parser import ParsedCommand
from bot.commands.tree import CommandTree
from bot.render.document import Bold, Reply, line
from bot.services.context import Context


def help_handlers(tree: CommandTree) -> dict[str, Handler]:
    async def show_help(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
        topic = cmd.values.get("command")
        return [help_reply(tree, ctx.prefix, str(topic) if topic else None)]

    return {"help": show_help, "about": about}


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
