"""The task board: adding, claiming, releasing, assigning, finishing and cancelling tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from bot import write_watch
from bot.db import rollup
from bot.db.models import Contribution, Member, Task
from bot.domain.limits import TITLE_MAX, check_task_points, check_text
from bot.domain.timeparse import parse_when
from bot.domain.vocabulary import ACTIVE_TASK, Role, TaskStatus
from bot.errors import UserError
from bot.services import decisions
from bot.services.context import Context
from bot.services.members import find_member

TASK_LISTS = ("open", "mine", "all")
LIST_LIMIT = 50
DEFAULT_POINTS = 1


@dataclass(frozen=True)
class TaskDone:
    """A finished task, who was credited, and the ledger entry (None for a 0-point task)."""

    task: Task
    holder: Member
    contribution: Contribution | None


async def get_task(ctx: Context, number: int) -> Task:
    coop = ctx.require_coop()
    task = await ctx.session.scalar(
        select(Task).where(Task.coop_id == coop.id, Task.number == number)
    )
    if task is None:
        raise UserError(
            f"There is no task {number} in {coop.name}",
            f"see the board with `{ctx.prefix}task list all`",
        )
    return task


async def member_by_id(ctx: Context, member_id: int | None) -> Member | None:
    return None if member_id is None else await ctx.session.get(Member, member_id)


async def members_by_id(ctx: Context, ids: set[int]) -> dict[int, Member]:
    if not ids:
        return {}
    found = await ctx.session.scalars(select(Member).where(Member.id.in_(ids)))
    return {m.id: m for m in found}


async def add_task(
    ctx: Context,
    title: str,
    points: int | None = None,
    due: str | None = None,
    from_decision: int | None = None,
) -> Task:
    coop = ctx.require_coop()
    author = ctx.require_actor()
    title = check_text("title", title, TITLE_MAX)
    task_points = check_task_points(DEFAULT_POINTS if points is None else points)
    now = ctx.clock.now()
    due_at = None if due is None else parse_when(due, ctx.config.timezone, now, date_means="end")
    if from_decision is not None:
        await decisions.get_decision(ctx, from_decision)  # it must exist in this co-op
    task = Task(
        coop_id=coop.id,
        number=await decisions.next_number(ctx, coop, "next_task_number"),
        title=title,
        points=Decimal(task_points),
        due_at=due_at,
        from_decision=from_decision,
        status=TaskStatus.OPEN,
        created_by=author.id,
        created_at=now,
    )
    ctx.session.add(task)
    await ctx.session.flush()
    await write_watch.due_changed(ctx.session)
    detail: dict[str, Any] = {"title": title, "points": task_points}
    if from_decision is not None:
        detail["from_decision"] = from_decision
    ctx.audit("task.add", f"task:{task.number}", **detail)
    return task


async def _lock_member(ctx: Context, member: Member) -> None:
    """Lock the member's row so that concurrent claims for one member queue up and the
    count of their claims cannot be outrun (PostgreSQL; SQLite serialises writers anyway,
    so there it sends nothing)."""
    if ctx.session.get_bind().dialect.name == "sqlite":
        return
    await ctx.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())


async def claimed_count(ctx: Context, member_id: int) -> int:
    return int(
        await ctx.session.scalar(
            select(func.count()).where(
                Task.holder_id == member_id, Task.status == TaskStatus.CLAIMED
            )
        )
        or 0
    )


async def _check_room_for_claim(ctx: Context, holder: Member, *, own: bool) -> None:
    await _lock_member(ctx, holder)
    limit = ctx.config.max_claims
    held = await claimed_count(ctx, holder.id)
    if held >= limit:
        who = "You hold" if own else f"@{holder.name} holds"
        raise UserError(
            f"{who} {held} claimed task{'s' if held != 1 else ''}; the limit is {limit}",
            f"finish or give one back first, e.g. `{ctx.prefix}task unclaim <id>`"
            if own
            else f"they can give one back with `{ctx.prefix}task unclaim <id>`",
        )


async def _refuse_state(ctx: Context, task: Task, action: str) -> UserError:
    """The error for a task that is not in a state `action` can apply to."""
    if task.status == TaskStatus.CLAIMED:
        holder = await member_by_id(ctx, task.holder_id)
        name = f"@{holder.name}" if holder else "someone"
        return UserError(
            f"Task {task.number} is already claimed by {name}",
            f"see what is free with `{ctx.prefix}task list`",
        )
    return UserError(
        f"Task {task.number} is {task.status}; it can't be {action}",
        f"see what is free with `{ctx.prefix}task list`",
    )


async def _move(
    ctx: Context, task: Task, from_status: str, from_holder: int | None, **values: Any
) -> bool:
    """Change a task only if nobody changed it since we read it: of two simultaneous
    claims (or a claim and a cancel), exactly one write lands."""
    holder_cond = Task.holder_id.is_(None) if from_holder is None else Task.holder_id == from_holder
    changed = await ctx.session.execute(
        update(Task)
        .where(Task.id == task.id, Task.status == from_status, holder_cond)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        await ctx.session.refresh(task)
        return False
    await write_watch.due_changed(ctx.session)
    for key, value in values.items():
        # As written by the UPDATE above: the flush has nothing more to write.
        set_committed_value(task, key, value)
    return True


async def claim(ctx: Context, number: int) -> Task:
    """open → claimed by the actor."""
    member = ctx.require_actor()
    task = await get_task(ctx, number)
    if task.status == TaskStatus.CLAIMED and task.holder_id == member.id:
        raise UserError(
            f"You already hold task {number}",
            f"when it's finished: `{ctx.prefix}task done {number}`",
        )
    if task.status != TaskStatus.OPEN:
        raise await _refuse_state(ctx, task, "claimed")
    await _check_room_for_claim(ctx, member, own=True)
    if not await _move(
        ctx,
        task,
        TaskStatus.OPEN,
        None,
        status=TaskStatus.CLAIMED,
        holder_id=member.id,
        claimed_at=ctx.clock.now(),
        claim_reminded_at=None,
    ):
        raise await _refuse_state(ctx, task, "claimed")
    ctx.audit("task.claim", f"task:{number}")
    return task


async def assign(ctx: Context, number: int, token: str) -> tuple[Task, Member]:
    """A steward gives an open or claimed task to a member. The claim limit holds here too:
    it protects members from being loaded with more than they agreed to carry."""
    member = await find_member(ctx, token)
    task = await get_task(ctx, number)
    if task.status not in ACTIVE_TASK:
        raise await _refuse_state(ctx, task, "assigned")
    if task.status == TaskStatus.CLAIMED and task.holder_id == member.id:
        raise UserError(f"Task {number} is already held by @{member.name}")
    await _check_room_for_claim(ctx, member, own=member.id == ctx.require_actor().id)
    previous = task.holder_id
    if not await _move(
        ctx,
        task,
        task.status,
        previous,
        status=TaskStatus.CLAIMED,
        holder_id=member.id,
        claimed_at=ctx.clock.now(),
        claim_reminded_at=None,
    ):
        raise UserError(
            f"Task {number} changed a moment ago; try again",
            f"see it with `{ctx.prefix}task list all`",
        )
    ctx.audit("task.assign", f"task:{number}", member=member.id, previous=previous)
    return task, member


async def release(ctx: Context, task: Task, action: str = "task.unclaim") -> Member | None:
    """claimed → open; returns the former holder, or None when the task was no longer
    claimed (released by someone else first). Used by `task unclaim` and stale releases."""
    holder_id = task.holder_id
    if task.status != TaskStatus.CLAIMED or not await _move(
        ctx,
        task,
        TaskStatus.CLAIMED,
        holder_id,
        status=TaskStatus.OPEN,
        holder_id=None,
        claimed_at=None,
        claim_reminded_at=None,
    ):
        return None
    ctx.audit(action, f"task:{task.number}", member=holder_id)
    return await member_by_id(ctx, holder_id)


async def unclaim(ctx: Context, number: int) -> tuple[Task, Member]:
    """The holder (or a steward) gives a claimed task back to the board."""
    actor = ctx.require_actor()
    task = await get_task(ctx, number)
    if task.status != TaskStatus.CLAIMED:
        raise UserError(
            f"Task {number} is {task.status}, not claimed; there is nothing to give back"
        )
    if task.holder_id != actor.id and actor.role != Role.STEWARD:
        holder = await member_by_id(ctx, task.holder_id)
        raise UserError(
            f"Task {number} is held by @{holder.name if holder else '?'}; only they or a steward "
            "can give it back"
        )
    former = await release(ctx, task)
    if former is None:
        raise UserError(
            f"Task {number} changed a moment ago", f"see it with `{ctx.prefix}task list all`"
        )
    return task, former


async def complete(ctx: Context, number: int) -> TaskDone:
    """Mark a task done and credit its points to its holder.

    A claimed task may be finished by its holder or a steward; the holder is credited. An
    open task nobody claimed is credited to whoever marks it done: they did the work, and
    asking them to claim it first would only add a step."""
    coop = ctx.require_coop()
    actor = ctx.require_actor()
    task = await get_task(ctx, number)
    if task.status == TaskStatus.CLAIMED:
        if task.holder_id != actor.id and actor.role != Role.STEWARD:
            holder = await member_by_id(ctx, task.holder_id)
            raise UserError(
                f"Task {number} is held by @{holder.name if holder else '?'}; only they or a "
                "steward can mark it done"
            )
        holder_id = task.holder_id
    elif task.status == TaskStatus.OPEN:
        holder_id = actor.id
    else:
        raise UserError(
            f"Task {number} is already {task.status}", f"see the board with `{ctx.prefix}task list`"
        )
    assert holder_id is not None
    now = ctx.clock.now()
    if not await _move(
        ctx,
        task,
        task.status,
        task.holder_id,
        status=TaskStatus.DONE,
        holder_id=holder_id,
        done_at=now,
    ):
        raise UserError(
            f"Task {number} changed a moment ago; it is now {task.status}",
            f"see it with `{ctx.prefix}task list all`",
        )
    holder = await member_by_id(ctx, holder_id)
    assert holder is not None
    entry = None
    if task.points > 0:
        entry = Contribution(
            coop_id=coop.id,
            member_id=holder.id,
            kind="points",
            amount=task.points,
            note=f"task {number}: {task.title}"[:500],
            task_id=task.id,
            created_at=now,
        )
        ctx.session.add(entry)
        await ctx.session.flush()
        await rollup.add_entry(ctx.session, entry)
    ctx.audit("task.done", f"task:{number}", member=holder.id, points=str(task.points))
    return TaskDone(task, holder, entry)


async def cancel(ctx: Context, number: int) -> Task:
    """A steward takes an open or claimed task off the board."""
    task = await get_task(ctx, number)
    if task.status not in ACTIVE_TASK:
        raise UserError(f"Task {number} is already {task.status}")
    if not await _move(ctx, task, task.status, task.holder_id, status=TaskStatus.CANCELLED):
        raise UserError(f"Task {number} changed a moment ago; it is now {task.status}")
    ctx.audit("task.cancel", f"task:{number}")
    return task


async def list_tasks(ctx: Context, which: str = "open") -> Sequence[Task]:
    """`open`: open and claimed; `mine`: what the actor holds; `all`: the latest 50."""
    coop = ctx.require_coop()
    which = which.lower()
    if which not in TASK_LISTS:
        raise UserError(
            f"`{which}` is not a task list", f"use `{ctx.prefix}task list open`, `mine` or `all`"
        )
    query = select(Task).where(Task.coop_id == coop.id)
    if which == "open":
        # One indexed range per state, merged: a co-op's done tasks, however many, are
        # never read (an IN over both states would walk every task in number order).
        found = [
            task
            for status in ACTIVE_TASK
            for task in await ctx.session.scalars(
                query.where(Task.status == status).order_by(Task.number).limit(LIST_LIMIT)
            )
        ]
        return sorted(found, key=lambda task: task.number)[:LIST_LIMIT]
    if which == "mine":
        actor = ctx.require_actor()
        query = query.where(Task.status == TaskStatus.CLAIMED, Task.holder_id == actor.id)
        query = query.order_by(Task.number)
    else:
        query = query.order_by(Task.number.desc())
    return (await ctx.session.scalars(query.limit(LIST_LIMIT))).all()


async def holders_of(ctx: Context, tasks: Sequence[Task]) -> Mapping[int, Member]:
    return await members_by_id(ctx, {t.holder_id for t in tasks if t.holder_id is not None})
