"""Every live-card pacer of one process hears of every change to a decision: the answers
of each command the core runs (whichever platform it came from), and, once per window, a
look at the open decisions' turnout that finds the votes other processes handled.

A co-op bound to rooms on several platforms has a live card in each; each platform's
adapter keeps its own pacer (bot.live.LiveCards), which joins the core's hub while the
adapter runs. The look is how a process holding one platform's connection learns of a
vote handled by another process (bot.holders): it reads only open decisions and their
votes, so its cost does not grow with history."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Decision, Vote
from bot.domain.vocabulary import DecisionStatus
from bot.intents import DecisionRef
from bot.live import WINDOW
from bot.outgoing import Answer

log = logging.getLogger(__name__)

# (votes, vote changes, latest vote) of an open decision: any vote cast, changed or
# withdrawn changes it.
Turnout = tuple[int, int, datetime | None]


class Pacer(Protocol):
    """A platform's live-card pacer (bot.live.LiveCards) as the hub sees it."""

    async def answered(self, answers: Sequence[Answer]) -> None: ...

    def mark_stale(self, ref: DecisionRef) -> None: ...


async def open_turnout(sessions: async_sessionmaker[AsyncSession]) -> dict[DecisionRef, Turnout]:
    """The turnout of every open decision: one query over open decisions (ix_decisions_due)
    and their votes (uq_votes decision_id, member_id)."""
    query = (
        select(
            Decision.coop_id,
            Decision.number,
            func.count(Vote.id),
            func.coalesce(func.sum(Vote.changes), 0),
            func.max(Vote.cast_at),
        )
        .outerjoin(Vote, Vote.decision_id == Decision.id)
        .where(Decision.status == DecisionStatus.OPEN)
        .group_by(Decision.id, Decision.coop_id, Decision.number)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).tuples().all()
    return {
        DecisionRef(coop_id=coop, number=number): (int(votes), int(changes), latest)
        for coop, number, votes, changes, latest in rows
    }


class LiveHub:
    """The core's fan-out to the pacers joined now (one per running platform adapter)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        window: timedelta = WINDOW,
    ) -> None:
        self._sessions = sessions
        self.clock = clock
        self.window = window
        self._pacers: list[Pacer] = []
        self._seen: dict[DecisionRef, Turnout] | None = None
        self._looked_at: datetime | None = None
        self._fanning: set[asyncio.Task[None]] = set()

    def join(self, pacer: Pacer) -> None:
        """`pacer` hears of every change from now on (an adapter starting)."""
        if pacer not in self._pacers:
            self._pacers.append(pacer)

    def leave(self, pacer: Pacer) -> None:
        """`pacer` hears nothing more (its adapter stopped)."""
        if pacer in self._pacers:
            self._pacers.remove(pacer)

    def answered(self, answers: Sequence[Answer]) -> None:
        """After a command: every pacer hears its answers, off the reply path: the member's
        reply is sent as soon as the command commits, not after a card edit on this
        platform or another (each edit reads the card as it stands when sent, so the
        latest votes win whatever the order). `settled` waits for the edits begun."""
        pacers = tuple(self._pacers)
        if not pacers or not answers:
            return
        task = asyncio.create_task(self._fan_out(pacers, tuple(answers)))
        self._fanning.add(task)
        task.add_done_callback(self._fanning.discard)

    async def _fan_out(self, pacers: Sequence[Pacer], answers: Sequence[Answer]) -> None:
        """A pacer that fails to edit a card keeps it stale for its next flush; the
        command itself stands. A pacer that has left meanwhile hears nothing: its adapter
        is stopping, and an edit now would go out on a connection being closed."""
        for pacer in pacers:
            if pacer not in self._pacers:
                continue
            try:
                await pacer.answered(answers)
            except Exception:
                log.exception("a live card could not be refreshed now; it stays stale")

    async def settled(self) -> None:
        """Wait until every pacer has heard the answers given so far (tests; closing)."""
        while self._fanning:
            await asyncio.gather(*self._fanning, return_exceptions=True)

    async def look(self) -> int:
        """At most once per window (the adapters' timers call it before they flush): the
        open decisions whose turnout changed since the last look are stale for every
        pacer, whichever process handled the votes. The first look only takes note (a
        starting adapter checks its cards itself). Returns how many changed."""
        now = self.clock.now()
        if self._looked_at is not None and now - self._looked_at < self.window:
            return 0
        self._looked_at = now  # before the await: one look per window, whoever calls
        turnout = await open_turnout(self._sessions)
        seen, self._seen = self._seen, turnout
        if seen is None:
            return 0
        changed = [ref for ref, now_shown in turnout.items() if seen.get(ref) != now_shown]
        for ref in changed:
            for pacer in self._pacers:
                pacer.mark_stale(ref)
        return len(changed)
