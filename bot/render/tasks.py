"""Replies about the task board: a task added, claimed, given back, assigned, done, the list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.db.models import Contribution, Member, Task
from bot.domain.timeparse import format_local
from bot.domain.vocabulary import TaskStatus
from bot.render.document import Bold, Code, Line, Mention, Reply, Text, command, line
from bot.render.people import mention, named


def subject(task: Task) -> str:
    return f"task:{task.coop_id}:{task.number}"


def number(value: Decimal) -> str:
    """`3`, `2.5`: a stored amount without trailing zeros or exponent."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def points(task: Task) -> str:
    return f"{number(task.points)} pt{'s' if task.points != 1 else ''}"


def due_text(due_at: datetime, tz: ZoneInfo) -> str:
    """A due date given as a day ends at the next local midnight: show it as that day."""
    local = due_at.astimezone(tz)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        day = format_local(due_at - timedelta(hours=1), tz).rsplit(" ", 1)[0]
        return f"due end of {day}"
    return f"due {format_local(due_at, tz)}"


def _details(task: Task, tz: ZoneInfo) -> str:
    parts = [points(task)]
    if task.due_at is not None:
        parts.append(due_text(task.due_at, tz))
    if task.from_decision is not None:
        parts.append(f"from #{task.from_decision}")
    return " · ".join(parts)


def _announce(task: Task, *parts: str | Text | Bold | Code | Mention, body: bool = True) -> Reply:
    blocks: list[Line] = [line(*parts)]
    if body:
        blocks.append(line(task.title, indent=1))
    return Reply(kind="announcement", blocks=tuple(blocks), subject=subject(task))


def added(task: Task, by: Member, tz: ZoneInfo) -> Reply:
    """`Task 4 added by @alice — 3 pts · due end of Mon 1 Dec`, the title, how to claim."""
    return Reply(
        kind="announcement",
        blocks=(
            line(Bold(text=f"Task {task.number} added"), " by ", mention(by),
                 f" — {_details(task, tz)}"),
            line(task.title, indent=1),
            line("claim it: ", command(f"task claim {task.number}"), indent=1),
        ),
        subject=subject(task),
    )  # fmt: skip


def claimed(task: Task, holder: Member) -> Reply:
    """`Task 4 claimed by @bob`."""
    return _announce(task, Bold(text=f"Task {task.number} claimed"), " by ", mention(holder))


def assigned(task: Task, holder: Member, by: Member) -> Reply:
    return _announce(
        task,
        Bold(text=f"Task {task.number} assigned"),
        " to ",
        mention(holder),
        " by ",
        mention(by),
    )


def unclaimed(task: Task, former: Member, by: Member) -> Reply:
    if former.id == by.id:
        return _announce(
            task, Bold(text=f"Task {task.number} is open again"), " — ", mention(former),
            " gave it back",
        )  # fmt: skip
    return _announce(
        task, Bold(text=f"Task {task.number} is open again"), " — ", mention(by),
        " released it from ", mention(former),
    )  # fmt: skip


def done(task: Task, holder: Member, by: Member, entry: Contribution | None) -> Reply:
    """`Task 4 done by @bob — 3 pts credited to @bob`."""
    parts: list[str | Text | Bold | Code | Mention] = [
        Bold(text=f"Task {task.number} done"),
        " by ",
        mention(by),
    ]
    if entry is not None and holder.id == by.id:
        parts.append(f" — {points(task)} credited")
    elif entry is not None:
        parts += [f" — {points(task)} credited to ", mention(holder)]
    elif holder.id != by.id:
        parts += [" for ", mention(holder)]
    return _announce(task, *parts)


def cancelled(task: Task, by: Member) -> Reply:
    return _announce(task, Bold(text=f"Task {task.number} cancelled"), " by ", mention(by))


def _state(task: Task, holders: Mapping[int, Member]) -> list[str | Text | Bold | Code | Mention]:
    holder = holders.get(task.holder_id) if task.holder_id is not None else None
    if task.status == TaskStatus.CLAIMED and holder is not None:
        return [" — claimed by ", named(holder)]
    if task.status == TaskStatus.DONE and holder is not None:
        return [" — done by ", named(holder)]
    return [f" — {task.status}"]


def listing(
    tasks: Sequence[Task],
    holders: Mapping[int, Member],
    which: str,
    tz: ZoneInfo,
    prefix: str,
) -> Reply:
    """The board, one task per line: `task 4 Fix the gate (3 pts · due …) — claimed by @bob`."""
    if not tasks:
        empty = {
            "open": "No open tasks. Add one with ",
            "mine": "You hold no tasks. Find one with ",
            "all": "No tasks yet. Add one with ",
        }[which]
        example = f"{prefix}task list" if which == "mine" else f"{prefix}task add <title> points:2"
        return Reply(blocks=(line(empty, Code(text=example)),))
    title = {"open": "Open tasks", "mine": "Your tasks", "all": "All tasks"}[which]
    blocks: list[Line] = [line(Bold(text=title))]
    for task in tasks:
        blocks.append(
            line(f"task {task.number} ", task.title, f" ({_details(task, tz)})",
                 *_state(task, holders), indent=1)
        )  # fmt: skip
    return Reply(blocks=tuple(blocks))
