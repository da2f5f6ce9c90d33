"""Handlers for the ledger: log, kudos, tally, patronage and export."""

from __future__ import annotations

from decimal import Decimal

from bot.commands.handlers import Handler
from bot.commands.parser import ParsedCommand
from bot.invocation import CAP_ATTACHMENTS
from bot.render import contributions as render
from bot.render.document import Reply
from bot.services import contributions, exports, patronage
from bot.services.announce import announce_from_command
from bot.services.context import Context


def _amount(cmd: ParsedCommand, name: str) -> Decimal | str:
    """The parser gives NUMBER values as Decimal; other callers may pass text."""
    value = cmd.values.get(name)
    return value if isinstance(value, Decimal) else str(value or "")


async def log(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    entry = await contributions.log_hours(
        ctx, _amount(cmd, "hours"), cmd.get_str("note"), cmd.get_str("category")
    )
    return [render.logged(entry, ctx.require_actor())]


async def kudos(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    result = await contributions.give_kudos(
        ctx, cmd.get_str("member") or "", cmd.get_str("note") or "", cmd.get_int("points")
    )
    reply = render.kudos(result)
    await announce_from_command(ctx, reply)
    return [reply]


async def tally(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    result = await contributions.tally(
        ctx, cmd.get_str("period"), cmd.get_str("member"), cmd.get_int("page")
    )
    return [render.tally(result, _can_attach(ctx))]


async def patronage_(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    result = await patronage.patronage(ctx, _amount(cmd, "surplus"), cmd.get_str("period"))
    return [render.patronage(result)]


async def export(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    result = await exports.export(ctx, cmd.get_str("kind") or "", cmd.get_str("period"))
    return [render.export(result)]


def _can_attach(ctx: Context) -> bool:
    return ctx.invocation is not None and CAP_ATTACHMENTS in ctx.invocation.capabilities


def handlers() -> dict[str, Handler]:
    return {
        "log": log,
        "kudos": kudos,
        "tally": tally,
        "patronage": patronage_,
        "export": export,
    }
