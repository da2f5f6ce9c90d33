"""The `help` command, generated from the command tree."""

from __future__ import annotations

from bot.commands.handlers import Handler
from bot.commands.help import help_reply
from bot.commands.parser import ParsedCommand
from bot.commands.tree import CommandTree
from bot.render.document import Reply
from bot.services.context import Context


def help_handlers(tree: CommandTree) -> dict[str, Handler]:
    async def show_help(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
        topic = cmd.values.get("command")
        return [help_reply(tree, ctx.prefix, str(topic) if topic else None)]

    return {"help": show_help}
