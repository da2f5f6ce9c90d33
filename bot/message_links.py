"""Which platform message shows what: a decision's cards and polls, its live card."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import PlatformMessage
from bot.intents import DecisionRef


class MessageLinks:
    """The links between platform messages and the subjects they show (PlatformMessage)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def link_message(
        self, platform: str, room_id: str, message_id: str, subject: str
    ) -> None:
        async with self._sessions() as session, session.begin():
            if await session.get(PlatformMessage, (platform, message_id)) is None:
                session.add(
                    PlatformMessage(
                        platform=platform, message_id=message_id, room_id=room_id, subject=subject
                    )
                )

    async def subject_of(self, platform: str, message_id: str) -> str | None:
        async with self._sessions() as session:
            row = await session.get(PlatformMessage, (platform, message_id))
            return row.subject if row else None

    async def messages_about(self, platform: str, subject: str) -> Sequence[tuple[str, str]]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(PlatformMessage.room_id, PlatformMessage.message_id)
                .where(PlatformMessage.platform == platform, PlatformMessage.subject == subject)
                .order_by(PlatformMessage.message_id)
            )
            return [(r, m) for r, m in rows.all()]

    async def link_card(
        self, platform: str, room_id: str, message_id: str, ref: DecisionRef
    ) -> None:
        """Remember that a platform message (a card, a native poll) shows decision `ref`."""
        await self.link_message(platform, room_id, message_id, ref.subject)

    async def decision_of(self, platform: str, message_id: str) -> DecisionRef | None:
        """The decision a platform message was linked to, if any."""
        return DecisionRef.from_subject(await self.subject_of(platform, message_id))

    async def cards_of(self, platform: str, ref: DecisionRef) -> Sequence[tuple[str, str]]:
        """(room_id, message_id) of every message linked to decision `ref` on `platform`."""
        return await self.messages_about(platform, ref.subject)

    async def link_live_card(
        self, platform: str, room_id: str, message_id: str, ref: DecisionRef
    ) -> None:
        """Remember the message that is decision `ref`'s live card (beside its poll)."""
        await self.link_message(platform, room_id, message_id, ref.card_subject)

    async def live_cards_of(self, platform: str, ref: DecisionRef) -> Sequence[tuple[str, str]]:
        """(room_id, message_id) of the live cards remembered for decision `ref`."""
        return await self.messages_about(platform, ref.card_subject)
