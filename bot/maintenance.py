"""Work the core does on a timer, not for a command: due work, statistics, pruning."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.db.optimize import optimize
from bot.render.chart_process import ChartSlots
from bot.services import due, retention


class Maintenance:
    """Runs due work and keeps the database in shape (the scheduler calls these)."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        charts: ChartSlots | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._engine = engine
        self._sessions = sessions
        self._charts = charts  # the core's chart children, for the weekly summaries

    async def run_due_work(self) -> int:
        """Every transition that is due now, each in its own transaction; returns how many
        happened. Safe to run twice or in two processes at once: each transition is a
        conditional update, so it happens and is announced once."""
        return await due.run_all(self._sessions, self._clock, self._settings, self._charts)

    async def optimize_database(self) -> None:
        """Refresh the planner's statistics (SQLite `PRAGMA optimize`; daily)."""
        await optimize(self._engine)

    async def prune_history(self) -> retention.Pruned:
        """Forget handled messages and card links older than the retention window."""
        return await retention.prune(self._sessions, self._clock, retention.window(self._settings))
