"""Handlers for the task board: task add, claim, unclaim, done, assign, cancel and list."""

from __future__ import annotations

from bot.commands.handlers import Handler
from bot.commands.parser import ParsedCommand
from bot.render import tasks as render
from bot.render.document import Reply
from bot.services import tasks
from bot.services.announce import announce_from_command
from bot.services.context import Context


def _number(cmd: ParsedCommand) -> int:
    value = cmd.get_int("id")
    assert value is not None  # the parser requires it
    return value


async def _announced(ctx: Context, reply: Reply) -> list[Reply]:
    await announce_from_command(ctx, reply)
    return [reply]


async def add(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    task = await tasks.add_task(
        ctx,
        title=cmd.get_str("title") or "",
        points=cmd.get_int("points"),
        due=cmd.get_str("due"),
        from_decision=cmd.get_int("from"),
    )
    return await _announced(ctx, render.added(task, ctx.require_actor(), ctx.config.timezone))


async def claim(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    task = await tasks.claim(ctx, _number(cmd))
    return await _announced(ctx, render.claimed(task, ctx.require_actor()))


async def unclaim(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    task, former = await tasks.unclaim(ctx, _number(cmd))
    return await _announced(ctx, render.unclaimed(task, former, ctx.require_actor()))


async def done(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    result = await tasks.complete(ctx, _number(cmd))
    reply = render.done(result.task, result.holder, ctx.require_actor(), result.contribution)
    return await _announced(ctx, reply)


async def assign(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    task, holder = await tasks.assign(ctx, _number(cmd), cmd.get_str("member") or "")
    return await _announced(ctx, render.assigned(task, holder, ctx.require_actor()))


async def cancel(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    task = await tasks.cancel(ctx, _number(cmd))
    return await _announced(ctx, render.cancelled(task, ctx.require_actor()))


async def list_(ctx: Context, cmd: ParsedCommand) -> list[Reply]:
    which = (cmd.get_str("state") or "open").lower()
    found = await tasks.list_tasks(ctx, which)
    holders = await tasks.holders_of(ctx, found)
    return [render.listing(found, holders, which, ctx.config.timezone, ctx.prefix)]


def handlers() -> dict[str, Handler]:
    return {
        "task add": add,
        "task claim": claim,
        "task unclaim": unclaim,
        "task done": done,
        "task assign": assign,
        "task cancel": cancel,
        "task list": list_,
    }
