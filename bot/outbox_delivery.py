"""The core's side of the outbox: one Courier, the adapters' pumps, leases and depth."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.delivery import Courier, Outcome, Pump
from bot.metrics import Metrics
from bot.outgoing import Delivery, Send
from bot.services import outbox


class OutboxDelivery:
    """Sends stored deliveries for this process (`owner` names it in the leases it holds)
    and wakes every pump when a commit queues deliveries no sender holds."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        metrics: Metrics,
        *,
        owner: str,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._metrics = metrics
        self.owner = owner
        self.courier = Courier(
            sessions,
            clock,
            outbox.RetryPolicy.from_settings(settings),
            owner=owner,
            on_failure=self._count_send_failure,
        )
        self._pumps: list[Pump] = []

    def wake_pumps(self) -> None:
        for pump in self._pumps:
            pump.wake()

    async def deliver(self, delivery: Delivery, send: Send) -> bool:
        return await self.courier.deliver(delivery, send) is Outcome.SENT

    async def deliver_pending(self, platform: str, send: Send, limit: int = 50) -> int:
        return await self.courier.deliver_pending(platform, send, limit)

    def pump(
        self,
        platform: str,
        send: Send,
        *,
        every: float,
        before_round: Callable[[], Awaitable[object]] | None = None,
    ) -> Pump:
        """The drain loop of `platform`'s outbox through `send` (bot.delivery.Pump); it is
        woken at once when a commit queues deliveries no sender holds."""
        pump = Pump(self.courier, platform, send, every=every, before_round=before_round)
        self._pumps.append(pump)
        return pump

    async def pending_deliveries(self, platform: str, limit: int = 50) -> Sequence[Delivery]:
        """Lease due deliveries for a caller that sends them itself and then calls
        `mark_delivered` (tests); adapters use `deliver_pending`."""
        async with self._sessions() as session, session.begin():
            leased = await outbox.lease_pending(
                session,
                self._clock,
                platform,
                limit,
                owner=self.owner,
                policy=self.courier.policy,
            )
        return leased

    async def mark_delivered(self, delivery_id: int, platform_message_id: str | None) -> None:
        async with self._sessions() as session, session.begin():
            await outbox.mark_delivered(session, self._clock, delivery_id, platform_message_id)

    def _count_send_failure(self, platform: str) -> None:
        self._metrics.outbox_failures.labels(platform=platform).inc()

    async def outbox_depth(self) -> dict[str, tuple[int, int]]:
        """{platform: (pending, dead)} deliveries, for health checks and metrics."""
        async with self._sessions() as session:
            return await outbox.depth_by_platform(session)

    async def close(self) -> None:
        await self.courier.close()
