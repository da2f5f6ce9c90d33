"""The outbox: announcements stored with the change they announce, delivered afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.models import OutboxDelivery, OutboxMessage, RoomBinding
from bot.invocation import RoomRef
from bot.render.document import Reply

LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class PendingDelivery:
    delivery_id: int
    room: RoomRef
    reply: Reply


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
    message = OutboxMessage(
        coop_id=coop_id,
        created_at=clock.now(),
        dedupe_key=dedupe_key,
        document=reply.model_dump(mode="json"),
    )
    session.add(message)
    await session.flush()
    for binding in targets:
        session.add(
            OutboxDelivery(outbox_id=message.id, platform=binding.platform, room_id=binding.room_id)
        )
    return True


async def lease_pending(
    session: AsyncSession, clock: Clock, platform: str, limit: int
) -> Sequence[PendingDelivery]:
    """Lease up to `limit` undelivered announcements for `platform`, oldest first."""
    now = clock.now()
    rows = (
        await session.execute(
            select(OutboxDelivery, OutboxMessage.document)
            .join(OutboxMessage, OutboxMessage.id == OutboxDelivery.outbox_id)
            .where(
                OutboxDelivery.platform == platform,
                OutboxDelivery.delivered_at.is_(None),
                (OutboxDelivery.leased_until.is_(None)) | (OutboxDelivery.leased_until < now),
            )
            .order_by(OutboxDelivery.id)
            .limit(limit)
        )
    ).all()
    leased: list[PendingDelivery] = []
    for delivery, document in rows:
        taken = await session.execute(
            update(OutboxDelivery)
            .where(
                OutboxDelivery.id == delivery.id,
                OutboxDelivery.delivered_at.is_(None),
                (OutboxDelivery.leased_until.is_(None)) | (OutboxDelivery.leased_until < now),
            )
            .values(leased_until=now + LEASE, attempts=OutboxDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            leased.append(
                PendingDelivery(
                    delivery.id,
                    RoomRef(delivery.platform, delivery.room_id),
                    Reply.model_validate(document),
                )
            )
    return leased


async def mark_delivered(
    session: AsyncSession, clock: Clock, delivery_id: int, platform_message_id: str | None
) -> None:
    await session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id == delivery_id, OutboxDelivery.delivered_at.is_(None))
        .values(delivered_at=clock.now(), platform_message_id=platform_message_id)
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, delivery_id: int) -> None:
    """Give a lease back after a failed send, so the next attempt can retry at once."""
    await session.execute(
        update(OutboxDelivery)
        .where(OutboxDelivery.id == delivery_id, OutboxDelivery.delivered_at.is_(None))
        .values(leased_until=None)
        .execution_options(synchronize_session=False)
    )
