"""Handlers for propose, poll, vote, show, list, close, extend and withdraw."""

from __future__ import annotations

from typing import Any

from bot.commands.args import (
    CloseArgs,
    ExtendArgs,
    ListArgs,
    PollArgs,
    ProposeArgs,
    ShowArgs,
    VoteArgs,
    WithdrawArgs,
)
from bot.commands.handlers import Route, route
from bot.db.models import Member
from bot.domain import polls
from bot.domain.vocabulary import DecisionStatus
from bot.errors import UserError
from bot.render import decisions as render
from bot.render.document import Reply
from bot.services import decisions
from bot.services.announce import announce_from_command
from bot.services.context import Context


async def _opened(ctx: Context, decision_number: int) -> list[Reply]:
    decision = await decisions.get_decision(ctx, decision_number)
    author = await ctx.session.get(Member, decision.author_id)
    assert author is not None
    count = decisions.count(decision, [])
    reply = render.opened(decision, author, count, ctx.config.timezone, ctx.clock.now())
    stage = "scheduled" if decision.status == DecisionStatus.SCHEDULED else "announced"
    await announce_from_command(ctx, reply, dedupe_key=f"{render.subject(decision)}:{stage}")
    return [reply]


async def propose(ctx: Context, args: ProposeArgs) -> list[Reply]:
    decision = await decisions.create_proposal(
        ctx,
        title=args.title,
        body=args.body,
        method=args.method,
        rule_class=args.class_,
        quorum=args.quorum,
        threshold=args.threshold,
        opens=args.opens,
        closes=args.closes,
        secret=bool(args.secret),
        reason=args.reason,
    )
    return await _opened(ctx, decision.number)


async def poll(ctx: Context, args: PollArgs) -> list[Reply]:
    decision = await decisions.create_poll(
        ctx,
        question=args.question,
        options=polls.parse_options(args.options),
        method=args.method,
        quorum=args.quorum,
        opens=args.opens,
        closes=args.closes,
        secret=bool(args.secret),
        reason=args.reason,
    )
    return await _opened(ctx, decision.number)


async def vote(ctx: Context, args: VoteArgs) -> list[Reply]:
    outcome = await decisions.cast_vote(ctx, args.id, args.choice, args.reason)
    decision = outcome.decision
    # The acknowledgement shows turnout and quorum only: counted as the vote is stored.
    count = outcome.turnout
    inv = ctx.invocation
    # A secret choice is shown only where the room can't see the reply.
    shown = not decision.secret or (inv is not None and inv.answered_privately)
    return [render.vote_recorded(decision, outcome.cast, outcome.changed, count, shown=shown)]


async def show(ctx: Context, args: ShowArgs) -> list[Reply]:
    decision = await decisions.get_decision(ctx, args.id)
    count = await decisions.tally(ctx, decision)
    is_open = decision.status == DecisionStatus.OPEN
    # A large co-op's card names the first few non-voters and counts the rest in SQL.
    waiting, waiting_total = (
        await decisions.waiting(ctx, decision, render.WAITING_SHOWN) if is_open else ([], 0)
    )
    blockers = await decisions.block_reasons(ctx, decision)
    tz, now = ctx.config.timezone, ctx.clock.now()
    lowered_by = (
        await ctx.session.get(Member, decision.lowered_by_id) if decision.lowered_by_id else None
    )
    return [render.status(decision, count, waiting, tz, now, blockers, lowered_by, waiting_total)]


async def list_(ctx: Context, args: ListArgs) -> list[Reply]:
    which = (args.state or "open").lower()
    if which not in ("open", "closed", "all"):
        raise UserError(
            f"`{which}` is not a list", f"use `{ctx.prefix}list open`, `closed` or `all`"
        )
    found = await decisions.list_decisions(ctx, which)
    return [render.listing(found, which, ctx.config.timezone, ctx.clock.now())]


async def close(ctx: Context, args: CloseArgs) -> list[Reply]:
    number = args.id
    decision = await decisions.get_decision(ctx, number)
    if decision.status != DecisionStatus.OPEN:
        raise UserError(
            f"#{number} is {decision.status}; only an open decision can be closed",
            f"see it with `{ctx.prefix}show {number}`",
        )
    count = await decisions.close_decision(ctx, decision, early=True)
    if count is None:
        raise UserError(f"#{number} was closed a moment ago")
    reply = render.result(decision, count, await decisions.block_reasons(ctx, decision))
    await announce_from_command(ctx, reply, dedupe_key=f"{render.subject(decision)}:closed")
    return [reply]


async def extend(ctx: Context, args: ExtendArgs) -> list[Reply]:
    decision = await decisions.extend(ctx, args.id, args.duration)
    reply = render.extended(decision, ctx.config.timezone, ctx.clock.now())
    await announce_from_command(ctx, reply)
    return [reply]


async def withdraw(ctx: Context, args: WithdrawArgs) -> list[Reply]:
    decision = await decisions.withdraw(ctx, args.id)
    reply = render.withdrawn(decision, ctx.require_actor())
    await announce_from_command(ctx, reply, dedupe_key=f"{render.subject(decision)}:closed")
    return [reply]


def routes() -> list[Route[Any]]:
    return [
        route(ProposeArgs, propose),
        route(PollArgs, poll),
        route(VoteArgs, vote),
        route(ShowArgs, show),
        route(ListArgs, list_),
        route(CloseArgs, close),
        route(ExtendArgs, extend),
        route(WithdrawArgs, withdraw),
    ]
