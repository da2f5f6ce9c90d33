"""Time-driven transitions: open and close votes, remind, release stale claims, summaries."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import write_watch
from bot.clock import Clock
from bot.config import Settings
from bot.db.models import Coop, Decision, Member, Task
from bot.domain.vocabulary import DecisionStatus, TaskStatus
from bot.failure_log import log_failure
from bot.render import decisions as render_decisions
from bot.render import reminders as render_reminders
from bot.render.chart_process import ChartSlots
from bot.render.document import Reply
from bot.services import decisions, outbox, tasks
from bot.services.context import Context
from bot.services.coop_config import CoopConfig, effective

log = logging.getLogger(__name__)

Step = Callable[[Context, int], Awaitable[bool]]


async def _each(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    ids: list[tuple[int, int]],
    step: Step,
    charts: ChartSlots | None = None,
) -> int:
    """Run `step(ctx, item_id)` for each (coop id, item id), one transaction each."""
    done = 0
    for coop_id, item_id in ids:
        try:
            async with sessions() as session, session.begin():
                coop = await session.get(Coop, coop_id)
                ctx = Context(
                    session=session, clock=clock, settings=settings, coop=coop, charts=charts
                )
                if await step(ctx, item_id):
                    done += 1
        except Exception as exc:
            # A step may count or close a secret ballot: its errors' messages stay out.
            log_failure(log, exc, "scheduled step %s failed for %s", step.__name__, item_id)
    return done


async def _ids(
    sessions: async_sessionmaker[AsyncSession], query: Select[int, int]
) -> list[tuple[int, int]]:
    async with sessions() as session:
        return [(c, i) for c, i in (await session.execute(query)).all()]


async def _announce(ctx: Context, coop_id: int, reply: Reply, dedupe_key: str) -> None:
    """Queue a scheduled announcement for every bound room, once per `dedupe_key`."""
    await outbox.announce(ctx.session, ctx.clock, coop_id, reply, dedupe_key=dedupe_key)


async def open_scheduled(ctx: Context, decision_id: int) -> bool:
    decision = await ctx.session.get(Decision, decision_id)
    if decision is None or not await decisions.open_decision(ctx, decision):
        return False
    author = await ctx.session.get(Member, decision.author_id)
    assert author is not None
    reply = render_decisions.opened(
        decision,
        author,
        decisions.count(decision, []),
        ctx.config.timezone,
        ctx.clock.now(),
    )
    await _announce(ctx, decision.coop_id, reply, f"{render_decisions.subject(decision)}:announced")
    return True


async def close_due(ctx: Context, decision_id: int) -> bool:
    decision = await ctx.session.get(Decision, decision_id)
    if decision is None:
        return False
    result = await decisions.close_decision(ctx, decision)
    if result is None:
        return False
    blockers = await decisions.block_reasons(ctx, decision)
    reply = render_decisions.result(decision, result, blockers)
    await _announce(ctx, decision.coop_id, reply, f"{render_decisions.subject(decision)}:closed")
    return True


async def remind_voters(ctx: Context, decision_id: int) -> bool:
    now = ctx.clock.now()
    claimed = await ctx.session.execute(
        update(Decision)
        .where(
            Decision.id == decision_id,
            Decision.status == DecisionStatus.OPEN,
            Decision.reminded_at.is_(None),
        )
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await write_watch.due_changed(ctx.session)
    decision = await ctx.session.get(Decision, decision_id)
    assert decision is not None
    waiting = await decisions.non_voters(ctx, decision, render_reminders.REMINDED_SHOWN)
    if not waiting:
        return True
    total = await decisions.count_non_voters(ctx, decision)
    count = decisions.turnout(decision)
    reply = render_reminders.vote_reminder(
        decision, count, waiting, ctx.config.timezone, now, total
    )
    await _announce(ctx, decision.coop_id, reply, f"{render_decisions.subject(decision)}:reminder")
    return True


async def remind_claim(ctx: Context, task_id: int) -> bool:
    now = ctx.clock.now()
    claimed = await ctx.session.execute(
        update(Task)
        .where(
            Task.id == task_id, Task.status == TaskStatus.CLAIMED, Task.claim_reminded_at.is_(None)
        )
        .values(claim_reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await write_watch.due_changed(ctx.session)
    task = await ctx.session.get(Task, task_id)
    assert task is not None and task.holder_id is not None and task.claimed_at is not None
    holder = await ctx.session.get(Member, task.holder_id)
    assert holder is not None
    release_at = task.claimed_at + timedelta(days=ctx.config.claim_days)
    reply = render_reminders.claim_reminder(task, holder, release_at, ctx.config.timezone)
    await _announce(
        ctx, task.coop_id, reply, f"task:{task.id}:{task.claimed_at.isoformat()}:reminder"
    )
    return True


async def release_claim(ctx: Context, task_id: int) -> bool:
    task = await ctx.session.get(Task, task_id)
    if task is None or task.status != TaskStatus.CLAIMED or task.claimed_at is None:
        return False
    claimed_at = task.claimed_at
    release_at, _ = claim_times(ctx.config, claimed_at)
    if release_at > ctx.clock.now():
        return False
    if (holder := await tasks.release(ctx, task, action="task.release")) is None:
        return False
    reply = render_reminders.claim_released(task, holder, ctx.config.claim_days)
    await _announce(ctx, task.coop_id, reply, f"task:{task.id}:{claimed_at.isoformat()}:released")
    return True


async def post_summary(ctx: Context, coop_id: int) -> bool:
    from bot.services import summaries

    coop = ctx.require_coop()
    now = ctx.clock.now()
    due_at = coop.next_summary_at
    following = summaries.next_summary_time(ctx.config, now)
    moved = await ctx.session.execute(
        update(Coop)
        .where(Coop.id == coop_id, Coop.next_summary_at == due_at)
        .values(next_summary_at=following)
        .execution_options(synchronize_session=False)
    )
    await write_watch.due_changed(ctx.session)
    if moved.rowcount != 1 or due_at is None:  # type: ignore[attr-defined]
        return False
    reply = await summaries.weekly_summary(ctx, now)
    await _announce(ctx, coop_id, reply, f"summary:{coop_id}:{due_at.isoformat()}")
    return True


async def schedule_summaries(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> None:
    """Give every co-op without a next summary time one (from now, so nothing is back-filled)."""
    from bot.services import summaries

    async with sessions() as session, session.begin():
        coops = (await session.scalars(select(Coop).where(Coop.next_summary_at.is_(None)))).all()
        for coop in coops:
            config = effective(settings.defaults, coop.settings)
            coop.next_summary_at = summaries.next_summary_time(config, clock.now())
        if coops:
            await write_watch.due_changed(session)


async def run_all(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    charts: ChartSlots | None = None,
) -> int:
    """Every due transition, kind by kind, each item in its own transaction (a summary's
    chart drawn by one of `charts`; without it, the summary goes without one)."""
    now = clock.now()
    await schedule_summaries(sessions, clock, settings)
    claimed = select(Task.coop_id, Task.id).where(Task.status == TaskStatus.CLAIMED)
    passes: list[tuple[Select[int, int], Step]] = [
        (
            select(Decision.coop_id, Decision.id)
            .where(Decision.status == DecisionStatus.SCHEDULED, Decision.opens_at <= now)
            .order_by(Decision.opens_at),
            open_scheduled,
        ),
        (
            select(Decision.coop_id, Decision.id)
            .where(Decision.status == DecisionStatus.OPEN, Decision.closes_at <= now)
            .order_by(Decision.closes_at),
            close_due,
        ),
        # Reminder windows differ per co-op: select the candidates, each step decides.
        (
            select(Decision.coop_id, Decision.id).where(
                Decision.status == DecisionStatus.OPEN,
                Decision.reminded_at.is_(None),
                Decision.closes_at > now,
            ),
            _remind_if_due,
        ),
        (claimed, release_claim),
        (claimed, _claim_reminder_if_due),
        (select(Coop.id, Coop.id).where(Coop.next_summary_at <= now), post_summary),
    ]
    done = 0
    for query, step in passes:
        done += await _each(sessions, clock, settings, await _ids(sessions, query), step, charts)
    return done


async def _remind_if_due(ctx: Context, decision_id: int) -> bool:
    decision = await ctx.session.get(Decision, decision_id)
    if decision is None:
        return False
    at = reminder_time(ctx.config, decision.opened_at, decision.closes_at)
    if at is None or at > ctx.clock.now():
        return False
    return await remind_voters(ctx, decision_id)


async def _claim_reminder_if_due(ctx: Context, task_id: int) -> bool:
    task = await ctx.session.get(Task, task_id)
    if task is None or task.status != TaskStatus.CLAIMED or task.claimed_at is None:
        return False
    _, remind_at = claim_times(ctx.config, task.claimed_at)
    if remind_at is None or remind_at > ctx.clock.now():
        return False
    return await remind_claim(ctx, task_id)


async def next_due(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> datetime | None:
    """The earliest moment at which the due-work pass has something to do."""
    now = clock.now()
    async with sessions() as session:
        # This runs after every command: read only the co-ops that have open votes or claims.
        configs: dict[int, CoopConfig] = {}

        async def config_of(coop_id: int) -> CoopConfig:
            if coop_id not in configs:
                coop = await session.get(Coop, coop_id)
                assert coop is not None
                configs[coop_id] = effective(settings.defaults, coop.settings)
            return configs[coop_id]

        moments = [
            await session.scalar(
                select(func.min(Decision.opens_at)).where(
                    Decision.status == DecisionStatus.SCHEDULED
                )
            ),
            await session.scalar(
                select(func.min(Decision.closes_at)).where(Decision.status == DecisionStatus.OPEN)
            ),
            await session.scalar(select(func.min(Coop.next_summary_at))),
        ]
        if await session.scalar(select(Coop.id).where(Coop.next_summary_at.is_(None)).limit(1)):
            moments.append(now)
        unreminded = await session.execute(
            select(Decision.coop_id, Decision.opened_at, Decision.closes_at).where(
                Decision.status == DecisionStatus.OPEN, Decision.reminded_at.is_(None)
            )
        )
        for coop_id, opened_at, closes_at in unreminded.all():
            moments.append(reminder_time(await config_of(coop_id), opened_at, closes_at))
        claims = await session.execute(
            select(Task.coop_id, Task.claimed_at, Task.claim_reminded_at).where(
                Task.status == TaskStatus.CLAIMED
            )
        )
        for coop_id, claimed_at, reminded_at in claims.all():
            if claimed_at is None:
                continue
            release_at, remind_at = claim_times(await config_of(coop_id), claimed_at)
            moments.append(remind_at if remind_at and reminded_at is None else release_at)
    found = [m for m in moments if m is not None]
    return min(found) if found else None


def reminder_time(
    config: CoopConfig, opened_at: datetime | None, closes_at: datetime
) -> datetime | None:
    """When non-voters are reminded; None when never (reminders off, or a vote shorter
    than the reminder window, which would be reminded the moment it opens)."""
    if not config.reminder_hours or opened_at is None:
        return None
    at = closes_at - timedelta(hours=config.reminder_hours)
    return at if at > opened_at else None


def claim_times(config: CoopConfig, claimed_at: datetime) -> tuple[datetime, datetime | None]:
    """(release time, reminder time or None) of a claim: released after claim_days,
    reminded a day before (not at all when claims last a single day)."""
    release_at = claimed_at + timedelta(days=config.claim_days)
    remind_at = release_at - timedelta(days=1)
    return release_at, remind_at if remind_at > claimed_at else None
