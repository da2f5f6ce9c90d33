"""What the weekly summary reports, as data: gathered by bot.services.summaries, drawn by
bot.render.summary (kept apart so neither imports the other's module)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.db.models import Coop, Decision, Member, Task
from bot.domain.periods import Period
from bot.services.contributions import TallyRow
from bot.services.decisions import Turnout


@dataclass(frozen=True)
class DoneTask:
    task: Task
    holder: Member | None


@dataclass(frozen=True)
class OpenDecision:
    decision: Decision
    count: Turnout


@dataclass(frozen=True)
class WeeklySummary:
    """What the summary reports: the last full week's activity and what is open now."""

    coop: Coop
    period: Period
    timezone: ZoneInfo
    now: datetime
    contributions: Sequence[TallyRow]  # the top ones, at most CHART_ROWS
    contributions_total: int  # members with any contribution
    done: Sequence[DoneTask]
    done_total: int
    decided: Sequence[Decision]
    decided_total: int
    open: Sequence[OpenDecision]
    open_total: int
    unclaimed: Sequence[Task]
    unclaimed_total: int
