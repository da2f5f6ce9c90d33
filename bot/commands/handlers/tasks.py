"""Handlers for the task board: task add, claim, unclaim, done, assign, cancel and list."""

from __future__ import annotations

from typing import Any

from bot.commands.args import (
    TaskAddArgs,
    TaskAssignArgs,
    TaskCancelArgs,
    TaskClaimArgs,
    TaskDoneArgs,
    TaskListArgs,
    TaskUnclaimArgs,
)
from bot.commands.handlers import Route, route
from bot.render import tasks as render
from bot.render.document import Reply
from bot.services import tasks
from bot.services.announce import announce_from_command
from bot.services.context import Context


async def _announced(ctx: Context, reply: Reply) -> list[Reply]:
    await announce_from_command(ctx, reply)
    return [reply]


async def add(ctx: Context, args: TaskAddArgs) -> list[Reply]:
    task = await tasks.add_task(
        ctx, title=args.title, points=args.points, due=args.due, from_decision=args.from_
    )
    return await _announced(ctx, render.added(task, ctx.require_actor(), ctx.config.timezone))


async def claim(ctx: Context, args: TaskClaimArgs) -> list[Reply]:
    task = await tasks.claim(ctx, args.id)
    return await _announced(ctx, render.claimed(task, ctx.require_actor()))


async def unclaim(ctx: Context, args: TaskUnclaimArgs) -> list[Reply]:
    task, former = await tasks.unclaim(ctx, args.id)
    return await _announced(ctx, render.unclaimed(task, former, ctx.require_actor()))


async def done(ctx: Context, args: TaskDoneArgs) -> list[Reply]:
    result = await tasks.complete(ctx, args.id)
    reply = render.done(result.task, result.holder, ctx.require_actor(), result.contribution)
    return await _announced(ctx, reply)


async def assign(ctx: Context, args: TaskAssignArgs) -> list[Reply]:
    task, holder = await tasks.assign(ctx, args.id, args.member)
    return await _announced(ctx, render.assigned(task, holder, ctx.require_actor()))


async def cancel(ctx: Context, args: TaskCancelArgs) -> list[Reply]:
    task = await tasks.cancel(ctx, args.id)
    return await _announced(ctx, render.cancelled(task, ctx.require_actor()))


async def list_(ctx: Context, args: TaskListArgs) -> list[Reply]:
    which = (args.state or "open").lower()
    found = await tasks.list_tasks(ctx, which)
    holders = await tasks.holders_of(ctx, found)
    return [render.listing(found, holders, which, ctx.config.timezone, ctx.prefix)]


def routes() -> list[Route[Any]]:
    return [
        route(TaskAddArgs, add),
        route(TaskClaimArgs, claim),
        route(TaskUnclaimArgs, unclaim),
        route(TaskDoneArgs, done),
        route(TaskAssignArgs, assign),
        route(TaskCancelArgs, cancel),
        route(TaskListArgs, list_),
    ]
