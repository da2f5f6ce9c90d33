"""One live card per decision, platform-free: which answers make a decision's posted card
stale, and how often it may be edited, so a burst of votes costs a bounded number of edits;
and which live cards a process that starts (or takes over) must check are up to date.

The pace is kept per process, in memory, and that is enough across processes: only the
process holding a platform's connection (bot.holders) edits its cards; it hears of every
change, also on another platform or in another process, through the core's hub
(bot.live_hub). An edit shows the decision as it stands when the edit is sent, never a
state remembered from earlier, so the last edit of a burst shows its end. What memory loses
when that process stops or dies is the refresh a burst left waiting for its window;
`open_live_cards` lets the next holder find the cards to check and refresh them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Decision, PlatformMessage
from bot.domain.vocabulary import DecisionStatus
from bot.intents import CardClosed, CardOpened, CardUpdated, DecisionRef, Say
from bot.outgoing import Answer

# A decision's card is edited at most EDITS_PER_WINDOW times per WINDOW (Discord itself
# allows 5 edits per 5 s in a channel): the first votes show at once, the rest of a burst
# is shown by one edit once the window lets it.
WINDOW = timedelta(seconds=5)
EDITS_PER_WINDOW = 4
CARD_INTENTS = (CardOpened, CardUpdated, CardClosed)

# Edits every posted card of a decision to its state as read when the edit is sent; says
# whether it edited any.
Refresh = Callable[[DecisionRef], Awaitable[bool]]


class LiveCards:
    """Keeps each decision's posted cards in step with its votes. A change marks the card
    stale; it is refreshed at once unless it was refreshed `per_window` times within the
    last `window`, and then by `flush` (the adapter's timer) once the window allows. Times
    come from `clock`, so a burst of any size costs at most `per_window` edits per window."""

    def __init__(
        self,
        refresh: Refresh,
        clock: Clock,
        window: timedelta = WINDOW,
        per_window: int = EDITS_PER_WINDOW,
    ) -> None:
        self._refresh_cards = refresh
        self.clock = clock
        self.window = window
        self.per_window = per_window
        self._edited: dict[DecisionRef, list[datetime]] = {}
        self._stale: set[DecisionRef] = set()
        self.edits = 0  # card refreshes made (each edits the decision's posted cards)

    async def answered(self, answers: Sequence[Answer]) -> None:
        """After a command: a decision it changed (a vote, a new deadline) has a stale card.
        The core answers a vote with a private confirmation whose intent names the decision;
        a read names the decision it shows and changes nothing. A card the answers carry
        themselves is the adapter's to show; a closed card needs no later edit."""
        if any(isinstance(a.intent, CARD_INTENTS) for a in answers):
            for answer in answers:
                if isinstance(answer.intent, CardClosed):
                    self._stale.discard(answer.intent.ref)
            return
        refs = {
            a.intent.about
            for a in answers
            if not isinstance(a.intent, CARD_INTENTS)
            and not (isinstance(a.intent, Say) and a.intent.read)
        }
        for ref in sorted((r for r in refs if r is not None), key=lambda r: r.number):
            await self.changed(ref)

    def _may_edit(self, ref: DecisionRef, now: datetime) -> bool:
        recent = [at for at in self._edited.get(ref, []) if now - at < self.window]
        self._edited[ref] = recent
        return len(recent) < self.per_window

    def mark_stale(self, ref: DecisionRef) -> None:
        """`ref` changed where this pacer did not see it (another process): `flush`
        refreshes it once the window allows."""
        self._stale.add(ref)

    async def changed(self, ref: DecisionRef) -> None:
        now = self.clock.now()
        if self._may_edit(ref, now):
            await self._refresh(ref, now)
        else:
            self._stale.add(ref)

    async def flush(self) -> int:
        """Refresh the stale cards the window allows again; returns how many."""
        now = self.clock.now()
        due = [ref for ref in self._stale if self._may_edit(ref, now)]
        for ref in sorted(due, key=lambda r: (r.coop_id, r.number)):
            await self._refresh(ref, now)
        return len(due)

    async def _refresh(self, ref: DecisionRef, now: datetime) -> None:
        # Counted before the first await: votes arriving meanwhile wait their turn.
        self._edited.setdefault(ref, []).append(now)
        self._stale.discard(ref)
        try:
            refreshed = await self._refresh_cards(ref)
        except BaseException:
            self._stale.add(ref)  # not shown: the next flush tries again
            raise
        if refreshed:
            self.edits += 1


async def open_live_cards(core: object, platform: str) -> list[tuple[DecisionRef, str, str]]:
    """(decision, room id, message id) of every live card on `platform` (`link_live_card`)
    of a decision that is open now, for a process that has just taken the platform's
    connection: a refresh its predecessor left waiting is found by checking these. Reads
    the core's database (`core.sessions`); a core without one has none."""
    sessions: async_sessionmaker[AsyncSession] | None = getattr(core, "sessions", None)
    if sessions is None:
        return []
    async with sessions() as session:
        rows = await session.execute(
            select(Decision.coop_id, Decision.number).where(Decision.status == DecisionStatus.OPEN)
        )
        refs = {
            DecisionRef(coop_id=coop_id, number=number).card_subject: DecisionRef(
                coop_id=coop_id, number=number
            )
            for coop_id, number in rows.tuples().all()
        }
        found: list[tuple[DecisionRef, str, str]] = []
        subjects = sorted(refs)
        for start in range(0, len(subjects), _CHUNK):
            linked = await session.execute(
                select(
                    PlatformMessage.subject, PlatformMessage.room_id, PlatformMessage.message_id
                ).where(
                    PlatformMessage.platform == platform,
                    PlatformMessage.subject.in_(subjects[start : start + _CHUNK]),
                )
            )
            found.extend((refs[subject], room, mid) for subject, room, mid in linked.tuples())
    return sorted(found, key=lambda row: (row[0].coop_id, row[0].number, row[1]))


_CHUNK = 500  # subjects per query (SQLite binds at most 999 parameters)
