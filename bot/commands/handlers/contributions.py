"""Handlers for the ledger: log, kudos, tally, patronage and export."""

from __future__ import annotations

from typing import Any

from bot.commands.args import ExportArgs, KudosArgs, LogArgs, PatronageArgs, TallyArgs
from bot.commands.handlers import Route, route
from bot.invocation import CAP_ATTACHMENTS
from bot.render import contributions as render
from bot.render.document import Reply
from bot.services import contributions, exports, patronage
from bot.services.announce import announce_from_command
from bot.services.context import Context


async def log(ctx: Context, args: LogArgs) -> list[Reply]:
    entry = await contributions.log_hours(ctx, args.hours, args.note, args.category)
    return [render.logged(entry, ctx.require_actor())]


async def kudos(ctx: Context, args: KudosArgs) -> list[Reply]:
    result = await contributions.give_kudos(ctx, args.member, args.note, args.points)
    reply = render.kudos(result)
    await announce_from_command(ctx, reply)
    return [reply]


async def tally(ctx: Context, args: TallyArgs) -> list[Reply]:
    result = await contributions.tally(ctx, args.period, args.member, args.page)
    return [render.tally(result, _can_attach(ctx))]


async def patronage_(ctx: Context, args: PatronageArgs) -> list[Reply]:
    result = await patronage.patronage(ctx, args.surplus, args.period)
    return [render.patronage(result)]


async def export(ctx: Context, args: ExportArgs) -> list[Reply]:
    result = await exports.export(ctx, args.kind, args.period)
    return [render.export(result)]


def _can_attach(ctx: Context) -> bool:
    return ctx.invocation is not None and CAP_ATTACHMENTS in ctx.invocation.capabilities


def routes() -> list[Route[Any]]:
    return [
        route(LogArgs, log),
        route(KudosArgs, kudos),
        route(TallyArgs, tally),
        route(PatronageArgs, patronage_),
        route(ExportArgs, export),
    ]
