"""The outbox: announcements and answers stored with the change they tell of, sent under
short leases, retried with back-off, and kept as dead letters when they cannot be sent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from bot import intents
from bot.clock import Clock
from bot.config import Settings
from bot.db.models import OutboxDelivery, OutboxMessage, RoomBinding
from bot.intents import intent_for
from bot.invocation import RoomRef
from bot.outgoing import Delivery
from bot.render.document import Reply
from bot.write_watch import mark_queued

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# A sender holds a delivery this long and renews it while it sends (see bot.delivery), so
# the work of a sender that died is taken over within seconds.
LEASE = timedelta(seconds=5)
FIRST_RETRY = timedelta(seconds=5)
REASON_MAX = 300


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed send is tried again, and when it is given up."""

    max_attempts: int = 12
    cap: timedelta = timedelta(minutes=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.outbox_max_attempts,
            cap=timedelta(seconds=settings.outbox_retry_cap_seconds),
        )

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed send: 5 s, 10 s, 20 s, … up to the cap."""
        doublings: int = min(max(attempts - 1, 0), 24)
        return min(self.cap, FIRST_RETRY * (1 << doublings))


@dataclass(frozen=True)
class DeadLetter:
    """A delivery that was given up, as a steward sees it (never its text)."""

    delivery_id: int
    room: RoomRef
    dead_at: datetime
    attempts: int
    reason: str
    answer: bool  # the answer to a command (otherwise an announcement)


def _new_key() -> str:
    return uuid.uuid4().hex[:20]


def _key(row: OutboxDelivery) -> str:
    # Rows queued before revision 0005 keep the Matrix transaction id they had then.
    return row.send_key or f"delivery-{row.id}"


def _pending(row: OutboxDelivery, document: dict[str, Any]) -> Delivery:
    stored = intents.load(document)
    return Delivery(
        row.id,
        RoomRef(row.platform, row.room_id),
        stored.reply,
        _key(row),
        row.recipient,
        row.reply_to,
        stored.intent,
    )


def _open() -> ColumnElement[bool]:
    return and_(OutboxDelivery.delivered_at.is_(None), OutboxDelivery.dead_at.is_(None))


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(OutboxDelivery.leased_until.is_(None), OutboxDelivery.leased_until < now)


async def announce(
    session: AsyncSession,
    clock: Clock,
    coop_id: int,
    reply: Reply,
    *,
    dedupe_key: str | None = None,
    skip_room: RoomRef | None = None,
) -> bool:
    """Queue `reply` for every room bound to the co-op (but `skip_room`, which got it as a
    direct reply). With a `dedupe_key`, a second announcement with the same key is dropped;
    returns whether it was queued."""
    if dedupe_key is not None:
        seen = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if seen is not None:
            return False
    rooms = (await session.scalars(select(RoomBinding).where(RoomBinding.coop_id == coop_id))).all()
    targets = [
        b
        for b in rooms
        if skip_room is None or (b.platform, b.room_id) != (skip_room.platform, skip_room.room_id)
    ]
    if not targets and dedupe_key is None:
        return True  # no other room to tell (a co-op bound to one room only)
    message = OutboxMessage(
        coop_id=coop_id,
        created_at=clock.now(),
        dedupe_key=dedupe_key,
        document=intents.store(reply.storable(), intent_for(reply)),
    )
    session.add(message)
    await session.flush()
    for binding in targets:
        session.add(
            OutboxDelivery(
                outbox_id=message.id,
                platform=binding.platform,
                room_id=binding.room_id,
                send_key=_new_key(),
            )
        )
    if targets:
        mark_queued((await session.connection()).sync_connection)
    return True


def store_answers(
    session: Session,
    clock: Clock,
    coop_id: int,
    room: RoomRef,
    recipient: str,
    reply_to: str,
    replies: Sequence[Reply],
    owner: str,
    *,
    opens_card: bool = False,
) -> list[Delivery]:
    """Store the answers to a command that changed state in the command's transaction,
    leased by `owner`, who sends them right after the commit. Should it die first, another
    sender takes them over when the lease runs out: the change is always acknowledged.

    On a synchronous session: in a thread that runs a whole transaction (bot.vote_fast);
    `acknowledge` is the same on the command's AsyncSession, in one step of its loop."""
    now = clock.now()
    meant = [intent_for(reply, opens_card=opens_card) for reply in replies]
    messages = [
        OutboxMessage(
            coop_id=coop_id, created_at=now, document=intents.store(reply.storable(), intent)
        )
        for reply, intent in zip(replies, meant, strict=True)
    ]
    session.add_all(messages)
    session.flush()
    rows = [
        OutboxDelivery(
            outbox_id=message.id,
            platform=room.platform,
            room_id=room.room_id,
            recipient=recipient,
            reply_to=reply_to,
            send_key=_new_key(),
            attempts=1,
            leased_until=now + LEASE,
            lease_owner=owner,
        )
        for message in messages
    ]
    session.add_all(rows)
    session.flush()
    return [
        Delivery(row.id, room, reply, _key(row), recipient, reply_to, intent)
        for row, reply, intent in zip(rows, replies, meant, strict=True)
    ]


def _on_async_session(
    work: Callable[Concatenate[Session, P], T],
) -> Callable[Concatenate[AsyncSession, P], Coroutine[Any, Any, T]]:
    """`work`, taking the AsyncSession whose synchronous session it runs on (run_sync)."""

    async def on(session: AsyncSession, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await session.run_sync(work, *args, **kwargs)

    return on


acknowledge: Final = _on_async_session(store_answers)
"""`store_answers` on the command's AsyncSession (same arguments after the session)."""


async def lease_pending(
    session: AsyncSession,
    clock: Clock,
    platform: str,
    limit: int,
    *,
    owner: str,
    policy: RetryPolicy,
) -> list[Delivery]:
    """Lease up to `limit` deliveries for `platform` that are due, oldest first. A room's
    deliveries keep their order: none is taken while an older one waits for its retry."""
    now = clock.now()
    earlier = aliased(OutboxDelivery)
    older_waits = exists().where(
        earlier.platform == OutboxDelivery.platform,
        earlier.room_id == OutboxDelivery.room_id,
        earlier.id < OutboxDelivery.id,
        earlier.delivered_at.is_(None),
        earlier.dead_at.is_(None),
        earlier.next_attempt_at > now,
    )
    rows = (
        await session.execute(
            select(OutboxDelivery, OutboxMessage.document)
            .join(OutboxMessage, OutboxMessage.id == OutboxDelivery.outbox_id)
            .where(
                OutboxDelivery.platform == platform,
                _open(),
                _free(now),
                or_(
                    OutboxDelivery.next_attempt_at.is_(None),
                    OutboxDelivery.next_attempt_at <= now,
                ),
                ~older_waits,
            )
            .order_by(OutboxDelivery.id)
            .limit(limit)
        )
    ).all()
    leased: list[Delivery] = []
    for row, document in rows:
        if row.attempts >= policy.max_attempts:
            # Its senders kept dying (or hanging) while sending it: stop trying.
            reason = f"no outcome after {row.attempts} sends (the sender stopped while sending)"
            await _bury(session, now, row, reason, holder=None)
            continue
        taken = await session.execute(
            update(OutboxDelivery)
            .where(OutboxDelivery.id == row.id, _open(), _free(now))
            .values(leased_until=now + LEASE, lease_owner=owner, attempts=row.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            leased.append(_pending(row, document))
    return leased


async def renew(
    session: AsyncSession, clock: Clock, delivery_ids: Sequence[int], owner: str
) -> int:
    """Extend the leases `owner` still holds on these deliveries; returns how many."""
    if not delivery_ids:
        return 0
    renewed = await session.execute(
        update(OutboxDelivery)
        .where(
            OutboxDelivery.id.in_(delivery_ids),
            OutboxDelivery.lease_owner == owner,
            _open(),
        )
        .values(leased_until=clock.now() + LEASE)
        .execution_options(synchronize_session=False)
    )
    return int(renewed.rowcount)  # type: ignore[attr-defined]


async def mark_delivered(
    session: AsyncSession, clock: Clock, delivery_id: int, platform_message_id: str | None
) -> None:
    """Record a send. An answer to a command is deleted instead: the handled-message row
    already keeps the command from running twice, and a private answer is not kept."""
    found = (
        await session.execute(
            select(OutboxDelivery.reply_to, OutboxDelivery.outbox_id).where(
                OutboxDelivery.id == delivery_id
            )
        )
    ).first()
    if found is None:
        return  # another sender delivered this answer and deleted it
    reply_to, outbox_id = found
    if reply_to is not None:
        await session.execute(delete(OutboxDelivery).where(OutboxDelivery.id == delivery_id))
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id == outbox_id))
        return
    await session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id == delivery_id, OutboxDelivery.delivered_at.is_(None))
        .values(
            delivered_at=clock.now(),
            platform_message_id=platform_message_id,
            dead_at=None,
            leased_until=None,
            lease_owner=None,
        )
        .execution_options(synchronize_session=False)
    )


async def fail(
    session: AsyncSession,
    clock: Clock,
    delivery_id: int,
    reason: str,
    *,
    owner: str,
    permanent: bool,
    policy: RetryPolicy,
) -> bool:
    """A send by `owner` failed: retry it after a back-off, or give it up (a permanent
    error, or the last attempt). Returns whether it was given up."""
    row = await session.get(OutboxDelivery, delivery_id)
    if row is None or row.lease_owner != owner or row.delivered_at or row.dead_at:
        return False  # delivered, or taken over by another sender meanwhile
    reason = reason[:REASON_MAX]
    if permanent or row.attempts >= policy.max_attempts:
        return await _bury(session, clock.now(), row, reason, holder=owner)
    wait = policy.delay(row.attempts)
    await session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id == row.id, OutboxDelivery.lease_owner == owner, _open())
        .values(
            next_attempt_at=clock.now() + wait,
            leased_until=None,
            lease_owner=None,
            last_error=reason,
        )
        .execution_options(synchronize_session=False)
    )
    log.info(
        "outbox: delivery %d to %s:%s failed (%s); send %d of %d in %d s",
        row.id,
        row.platform,
        row.room_id,
        reason,
        row.attempts + 1,
        policy.max_attempts,
        wait.total_seconds(),
    )
    return False


async def _bury(
    session: AsyncSession, now: datetime, row: OutboxDelivery, reason: str, holder: str | None
) -> bool:
    """Make `row` a dead letter (if it is still open and free, or held by `holder`)."""
    held = OutboxDelivery.lease_owner == holder if holder is not None else _free(now)
    buried = await session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id == row.id, _open(), held)
        .values(dead_at=now, last_error=reason[:REASON_MAX], leased_until=None, lease_owner=None)
        .execution_options(synchronize_session=False)
    )
    if buried.rowcount != 1:  # type: ignore[attr-defined]
        return False
    # The operator's one line: which room and why, never what the message says.
    log.warning(
        "outbox: gave up delivery %d to %s room %s after %d send(s): %s; "
        "a steward can list it with `coop outbox` and send it again with `coop outbox retry`",
        row.id,
        row.platform,
        row.room_id,
        row.attempts,
        reason,
    )
    return True


async def release(session: AsyncSession, delivery_ids: Sequence[int], owner: str) -> None:
    """Give back leases on deliveries that were not tried (the rest of a round that
    stopped at a failure); their attempt does not count."""
    if not delivery_ids:
        return
    await session.execute(
        update(OutboxDelivery)
        .where(
            OutboxDelivery.id.in_(delivery_ids),
            OutboxDelivery.lease_owner == owner,
            _open(),
        )
        .values(leased_until=None, lease_owner=None, attempts=OutboxDelivery.attempts - 1)
        .execution_options(synchronize_session=False)
    )


async def dead_letters(
    session: AsyncSession, coop_id: int, limit: int = 20
) -> tuple[int, list[DeadLetter]]:
    """How many deliveries of the co-op were given up, and the latest `limit` of them."""
    of_coop = and_(
        OutboxMessage.coop_id == coop_id,
        OutboxDelivery.dead_at.is_not(None),
        OutboxDelivery.delivered_at.is_(None),
    )
    joined = select(OutboxDelivery).join(
        OutboxMessage, OutboxMessage.id == OutboxDelivery.outbox_id
    )
    total = await session.scalar(
        select(func.count())
        .select_from(OutboxDelivery)
        .join(OutboxMessage, OutboxMessage.id == OutboxDelivery.outbox_id)
        .where(of_coop)
    )
    rows = (
        await session.scalars(joined.where(of_coop).order_by(OutboxDelivery.id.desc()).limit(limit))
    ).all()
    letters = [
        DeadLetter(
            row.id,
            RoomRef(row.platform, row.room_id),
            row.dead_at,
            row.attempts,
            row.last_error or "",
            row.reply_to is not None,
        )
        for row in rows
        if row.dead_at is not None
    ]
    return int(total or 0), letters


async def retry_dead(session: AsyncSession, clock: Clock, coop_id: int) -> int:
    """Queue every dead letter of the co-op again, with a fresh count of attempts."""
    retried = await session.execute(
        update(OutboxDelivery)
        .where(
            OutboxDelivery.outbox_id.in_(
                select(OutboxMessage.id).where(OutboxMessage.coop_id == coop_id)
            ),
            OutboxDelivery.dead_at.is_not(None),
            OutboxDelivery.delivered_at.is_(None),
        )
        .values(dead_at=None, attempts=0, next_attempt_at=None, leased_until=None, lease_owner=None)
        .execution_options(synchronize_session=False)
    )
    return int(retried.rowcount)  # type: ignore[attr-defined]


async def waiting_count(session: AsyncSession, coop_id: int) -> int:
    """Deliveries of the co-op that failed at least once and wait for their next try."""
    found = await session.scalar(
        select(func.count())
        .select_from(OutboxDelivery)
        .join(OutboxMessage, OutboxMessage.id == OutboxDelivery.outbox_id)
        .where(
            OutboxMessage.coop_id == coop_id,
            _open(),
            OutboxDelivery.next_attempt_at.is_not(None),
        )
    )
    return int(found or 0)


async def depth_by_platform(session: AsyncSession) -> dict[str, tuple[int, int]]:
    """{platform: (pending, dead)} over every co-op: what is still to be sent and what
    was given up (for health checks and metrics)."""
    dead = case((OutboxDelivery.dead_at.is_not(None), 1), else_=0)
    rows = await session.execute(
        select(OutboxDelivery.platform, func.count(), func.sum(dead))
        .where(OutboxDelivery.delivered_at.is_(None))
        .group_by(OutboxDelivery.platform)
    )
    return {
        platform: (int(total) - int(given_up or 0), int(given_up or 0))
        for platform, total, given_up in rows.all()
    }
