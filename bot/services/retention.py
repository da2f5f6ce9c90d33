"""Forgets what is needed only for a while: which platform messages were handled (a
platform redelivers within minutes) and links to the cards of long-closed decisions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.db.models import Decision, HandledMessage, PlatformMessage, RoomBinding
from bot.domain.vocabulary import FINISHED

# Rows per transaction: pruning never holds a long transaction or a long lock.
BATCH = 500


@dataclass
class Pruned:
    handled: int = 0
    links: int = 0


def window(settings: Settings) -> timedelta:
    return timedelta(days=settings.message_retention_days)


async def prune(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    keep: timedelta,
    batch: int = BATCH,
) -> Pruned:
    """Delete handled-message rows older than `keep`, and links to the platform messages
    of decisions that closed (or were withdrawn) more than `keep` ago: their cards and
    polls change no more. Links about anything else stay. One transaction per batch."""
    cutoff = clock.now() - keep
    return Pruned(
        handled=await _prune_handled(sessions, cutoff, batch),
        links=await _prune_links(sessions, cutoff, batch),
    )


async def _prune_handled(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime, batch: int
) -> int:
    removed = 0
    while True:
        async with sessions() as session, session.begin():
            keys = (
                await session.execute(
                    select(HandledMessage.platform, HandledMessage.message_id)
                    .where(HandledMessage.handled_at < cutoff)
                    .limit(batch)
                )
            ).all()
            by_platform: dict[str, list[str]] = defaultdict(list)
            for platform, message_id in keys:
                by_platform[platform].append(message_id)
            for platform, message_ids in by_platform.items():
                await session.execute(
                    delete(HandledMessage).where(
                        HandledMessage.platform == platform,
                        HandledMessage.message_id.in_(message_ids),
                    )
                )
        removed += len(keys)
        if len(keys) < batch:
            return removed


async def _prune_links(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime, batch: int
) -> int:
    """Walk the links in key order, a batch per transaction; the table holds only links
    of open and recently closed decisions, so one walk stays short."""
    removed = 0
    after: tuple[str, str] | None = None
    while True:
        async with sessions() as session, session.begin():
            query = select(PlatformMessage).order_by(
                PlatformMessage.platform, PlatformMessage.message_id
            )
            if after is not None:
                query = query.where(
                    or_(
                        PlatformMessage.platform > after[0],
                        and_(
                            PlatformMessage.platform == after[0],
                            PlatformMessage.message_id > after[1],
                        ),
                    )
                )
            links = (await session.scalars(query.limit(batch))).all()
            if not links:
                return removed
            after = (links[-1].platform, links[-1].message_id)
            rooms = await _rooms(session, links)
            finished = await _finished_before(session, links, rooms, cutoff)
            stale = [link for link in links if _decision_of(link, rooms) in finished]
            for platform in {link.platform for link in stale}:
                await session.execute(
                    delete(PlatformMessage).where(
                        PlatformMessage.platform == platform,
                        PlatformMessage.message_id.in_(
                            [link.message_id for link in stale if link.platform == platform]
                        ),
                    )
                )
        removed += len(stale)
        if len(links) < batch:
            return removed


def _decision_of(
    link: PlatformMessage, rooms: dict[tuple[str, str], int]
) -> tuple[int, int] | None:
    """The (coop id, number) a link is about: `decision:<coop>:<number>`, or the
    room-scoped `secret-ballot:<number>` of the Matrix adapter; None for anything else."""
    parts = link.subject.split(":")
    try:
        if parts[0] == "decision" and len(parts) == 3:
            return int(parts[1]), int(parts[2])
        if parts[0] == "secret-ballot" and len(parts) == 2:
            coop_id = rooms.get((link.platform, link.room_id))
            return (coop_id, int(parts[1])) if coop_id is not None else None
    except ValueError:
        return None
    return None


async def _rooms(
    session: AsyncSession, links: Sequence[PlatformMessage]
) -> dict[tuple[str, str], int]:
    """The co-op of each room the links are in, keyed by (platform, room id)."""
    room_keys = {(link.platform, link.room_id) for link in links}
    rooms: dict[tuple[str, str], int] = {}
    for platform in {p for p, _ in room_keys}:
        ids = [r for p, r in room_keys if p == platform]
        found = await session.execute(
            select(RoomBinding.room_id, RoomBinding.coop_id).where(
                RoomBinding.platform == platform, RoomBinding.room_id.in_(ids)
            )
        )
        rooms.update({(platform, room_id): coop_id for room_id, coop_id in found.all()})
    return rooms


async def _finished_before(
    session: AsyncSession,
    links: Sequence[PlatformMessage],
    rooms: dict[tuple[str, str], int],
    cutoff: datetime,
) -> set[tuple[int, int] | None]:
    """(coop id, number) of the linked decisions that finished before `cutoff`."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for link in links:
        if (key := _decision_of(link, rooms)) is not None:
            wanted[key[0]].add(key[1])
    finished: set[tuple[int, int] | None] = set()
    for coop_id, numbers in wanted.items():
        found = await session.execute(
            select(Decision.coop_id, Decision.number).where(
                Decision.coop_id == coop_id,
                Decision.number.in_(numbers),
                Decision.status.in_(FINISHED),
                Decision.closed_at < cutoff,
            )
        )
        finished.update((c, n) for c, n in found.all())
    return finished
