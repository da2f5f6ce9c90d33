"""The weekly summary: when it is due, and what last week held (tally, tasks, decisions)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime

from sqlalchemy import func, select

from bot.db.models import Decision, Task
from bot.domain.cron import next_fires
from bot.domain.periods import ALL_END, parse_period
from bot.domain.vocabulary import FINISHED, DecisionStatus, TaskStatus
from bot.render import summary as render_summary
from bot.render.chart_input import MAX_BARS, chart_input
from bot.render.chart_process import CHART_CHILD, RunningChart
from bot.render.document import Reply
from bot.render.summary import LIST_MAX
from bot.services import decisions, tasks
from bot.services.context import Context
from bot.services.contributions import (
    members_by_id,
    tally_lines,
    tally_row,
    weights_of,
)
from bot.services.coop_config import CoopConfig
from bot.services.summary_model import DoneTask, OpenDecision, WeeklySummary


def next_summary_time(config: CoopConfig, now: datetime) -> datetime:
    """The first time the co-op's summary cron line fires strictly after `now`, in UTC.

    A line that never fires (`0 9 31 2 *`) yields ALL_END, so nothing is ever due."""
    fires = next_fires(config.summary_cron, config.timezone, now)
    return fires[0] if fires else ALL_END


async def _total(ctx: Context, query: object) -> int:
    return int(await ctx.session.scalar(query) or 0)  # type: ignore[call-overload]


async def gather(ctx: Context, now: datetime) -> WeeklySummary:
    """Collect last week's tally, tasks done and decisions closed, and what is open now."""
    coop = ctx.require_coop()
    tz = ctx.config.timezone
    week = parse_period("week", tz, now)
    table = await tally_lines(ctx.session, coop.id, week.start, week.end, weights_of(ctx))
    top = table.lines[: max(LIST_MAX, MAX_BARS)]
    members = await members_by_id(ctx.session, [x.member_id for x in top])
    rows = [tally_row(table, x, members[x.member_id]) for x in top]

    done_where = (
        Task.coop_id == coop.id,
        Task.status == TaskStatus.DONE,
        Task.done_at >= week.start,
        Task.done_at < week.end,
    )
    done = (
        await ctx.session.scalars(
            select(Task).where(*done_where).order_by(Task.done_at, Task.number).limit(LIST_MAX)
        )
    ).all()
    holders = await tasks.holders_of(ctx, done)

    decided_where = (
        Decision.coop_id == coop.id,
        Decision.status.in_(FINISHED),
        Decision.closed_at >= week.start,
        Decision.closed_at < week.end,
    )
    decided = (
        await ctx.session.scalars(
            select(Decision)
            .where(*decided_where)
            .order_by(Decision.closed_at, Decision.number)
            .limit(LIST_MAX)
        )
    ).all()

    open_where = (Decision.coop_id == coop.id, Decision.status == DecisionStatus.OPEN)
    still_open = (
        await ctx.session.scalars(
            select(Decision)
            .where(*open_where)
            .order_by(Decision.closes_at, Decision.number)
            .limit(LIST_MAX)
        )
    ).all()
    # Turnout of every open decision shown, from their kept counts (no vote read).
    turnouts = decisions.turnouts(still_open)
    open_counts = [OpenDecision(d, turnouts[d.id]) for d in still_open]

    unclaimed_where = (Task.coop_id == coop.id, Task.status == TaskStatus.OPEN)
    unclaimed = (
        await ctx.session.scalars(
            select(Task).where(*unclaimed_where).order_by(Task.number).limit(LIST_MAX)
        )
    ).all()

    return WeeklySummary(
        coop=coop,
        period=week,
        timezone=tz,
        now=now,
        contributions=rows,
        contributions_total=len(table.lines),
        done=[DoneTask(t, holders.get(t.holder_id) if t.holder_id else None) for t in done],
        done_total=await _total(ctx, select(func.count()).select_from(Task).where(*done_where)),
        decided=decided,
        decided_total=await _total(
            ctx, select(func.count()).select_from(Decision).where(*decided_where)
        ),
        open=open_counts,
        open_total=await _total(ctx, select(func.count()).select_from(Decision).where(*open_where)),
        unclaimed=unclaimed,
        unclaimed_total=await _total(
            ctx, select(func.count()).select_from(Task).where(*unclaimed_where)
        ),
    )


def _chart_child(ctx: Context) -> AbstractAsyncContextManager[RunningChart]:
    if ctx.charts is None:
        return nullcontext(CHART_CHILD.none("this unit of work was given no chart children"))
    return ctx.charts.started()


async def weekly_summary(ctx: Context, now: datetime) -> Reply:
    """The summary announcement, with a PNG chart when anyone contributed last week.

    The chart is drawn in a short-lived child process (bot.render.chart_child), one of the
    few the core lets run at a time (ctx.charts), started before the gathering so that its
    matplotlib import overlaps it; this process never imports matplotlib. Without a chart
    from it (none free in time, or none drawn), the summary goes without one."""
    async with _chart_child(ctx) as child:
        data = await gather(ctx, now)
        png = None
        if data.contributions:
            title = f"Contributions — {data.period.label}"
            png = await child.draw(chart_input(data.contributions, title, data.contributions_total))
    return render_summary.summary(data, png)
