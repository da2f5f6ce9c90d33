"""Reminder and release notes: votes about to close, claims about to go stale."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.db.models import Decision, Member, Task
from bot.domain.timeparse import format_duration, format_local
from bot.render.decisions import subject, vote_hint
from bot.render.document import Bold, Inline, Reply, Text, command, line
from bot.render.people import mention, mention_run, named
from bot.services.decisions import Turnout

# Pings per reminder: enough for a small co-op to name everyone, bounded for a large one.
REMINDED_SHOWN = 50


def vote_reminder(
    decision: Decision,
    count: Turnout,
    waiting: Sequence[Member],
    tz: ZoneInfo,
    now: datetime,
    waiting_total: int | None = None,
) -> Reply:
    """Once before a vote closes: who has not voted (`waiting`: the first ones,
    `waiting_total`: how many in all), and how many votes quorum still needs."""
    parts: list[Inline] = [
        Text(text="Reminder:"),
        *mention_run(waiting, REMINDED_SHOWN, waiting_total),
    ]
    missing = count.votes_to_quorum
    need = (
        f"{missing} more vote{'s' if missing != 1 else ''} needed for quorum"
        if missing
        else "quorum is met, but your voice still counts"
    )
    return Reply(
        kind="announcement",
        blocks=(
            line(*parts),
            line(
                Bold(text=f"#{decision.number} {decision.title}"),
                f" closes {format_local(decision.closes_at, tz)} ({tz.key}), in "
                f"{format_duration(decision.closes_at - now)} — {need}",
                indent=1,
            ),
            line("vote: ", vote_hint(decision), indent=1),
        ),
        subject=subject(decision),
    )


def claim_reminder(task: Task, holder: Member, release_at: datetime, tz: ZoneInfo) -> Reply:
    return Reply(
        kind="announcement",
        blocks=(
            line(
                mention(holder),
                f": your claim on task {task.number} ",
                Bold(text=task.title),
                f" is released {format_local(release_at, tz)} ({tz.key}) unless it is done",
            ),
            line(
                "finish it with ",
                command(f"task done {task.number}"),
                " or let it go with ",
                command(f"task unclaim {task.number}"),
                indent=1,
            ),
        ),
    )


def claim_released(task: Task, holder: Member | None, claim_days: int) -> Reply:
    who: list[Inline] = [Text(text=" (was "), named(holder), Text(text=")")] if holder else []
    return Reply(
        kind="announcement",
        blocks=(
            line(
                f"Task {task.number} ",
                Bold(text=task.title),
                f" released after {claim_days} days without progress",
                *who,
            ),
            line("anyone can take it: ", command(f"task claim {task.number}"), indent=1),
        ),
    )
