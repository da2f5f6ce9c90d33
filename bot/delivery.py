"""Sends outbox deliveries through an adapter's send function: leases renewed by a
heartbeat while held, failures retried with back-off or given up as dead letters, and one
drain loop (Pump) for every adapter."""

from __future__ import annotations

import asyncio
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.outgoing import Delivery, PermanentSendError, Send
from bot.services import outbox
from bot.services.outbox import RetryPolicy
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# Renewed well before the lease runs out, so one slow renewal does not lose it.
HEARTBEAT_SECONDS = outbox.LEASE.total_seconds() / 3


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"  # failed; tried again after a back-off
    DEAD = "dead"  # given up


class Courier:
    """One process's sender. `owner` names it in the leases it holds; while a send is in
    hand its lease is renewed every few seconds, so a process that dies loses its leases
    within seconds and another takes the work over (sending with the same key)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        policy: RetryPolicy,
        *,
        owner: str,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.policy = policy
        self.owner = owner
        self.heartbeat_seconds = heartbeat_seconds
        self._on_failure = on_failure  # told the platform of every failed send (metrics)
        self._held: set[int] = set()
        self._beat: asyncio.Task[None] | None = None

    async def deliver(self, delivery: Delivery, send: Send) -> Outcome:
        """Send one leased delivery and mark it; on failure, record it (retry or give up)."""
        self._hold([delivery.delivery_id])
        try:
            try:
                platform_message_id = await send(delivery)
            except PermanentSendError as exc:
                return await self._failed(delivery, exc, permanent=True)
            except Exception as exc:
                return await self._failed(delivery, exc, permanent=False)
            await self._mark(delivery, platform_message_id)
            return Outcome.SENT
        finally:
            self._unhold([delivery.delivery_id])

    async def deliver_pending(self, platform: str, send: Send, limit: int = 50) -> int:
        """Lease and send due deliveries until none is left; a failure that will be retried
        ends the round (the platform or room is likely down: the rest waits for it)."""
        sent = 0
        while True:
            async with self._sessions() as session, session.begin():
                batch = await outbox.lease_pending(
                    session, self._clock, platform, limit, owner=self.owner, policy=self.policy
                )
            if not batch:
                return sent
            ids = [pending.delivery_id for pending in batch]
            self._hold(ids)  # the whole batch is in hand, not only the one being sent
            try:
                for index, pending in enumerate(batch):
                    outcome = await self.deliver(pending, send)
                    if outcome is Outcome.SENT:
                        sent += 1
                    elif outcome is Outcome.RETRY:
                        async with self._sessions() as session, session.begin():
                            await outbox.release(session, ids[index + 1 :], self.owner)
                        return sent
            finally:
                self._unhold(ids)

    async def renew(self) -> int:
        """Extend the leases this process holds now; returns how many were renewed."""
        held = sorted(self._held)
        if not held:
            return 0
        async with self._sessions() as session, session.begin():
            return await outbox.renew(session, self._clock, held, self.owner)

    async def close(self) -> None:
        if self._beat is not None:
            beat, self._beat = self._beat, None
            await cancel_and_wait(beat)

    async def _mark(self, delivery: Delivery, platform_message_id: str | None) -> None:
        async with self._sessions() as session, session.begin():
            await outbox.mark_delivered(
                session, self._clock, delivery.delivery_id, platform_message_id
            )

    async def _failed(self, delivery: Delivery, exc: Exception, *, permanent: bool) -> Outcome:
        if self._on_failure is not None:
            self._on_failure(delivery.room.platform)
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        async with self._sessions() as session, session.begin():
            dead = await outbox.fail(
                session,
                self._clock,
                delivery.delivery_id,
                reason,
                owner=self.owner,
                permanent=permanent,
                policy=self.policy,
            )
        return Outcome.DEAD if dead or permanent else Outcome.RETRY

    def _hold(self, ids: Sequence[int]) -> None:
        self._held.update(ids)
        if self._beat is None or self._beat.done():
            self._beat = asyncio.create_task(self._heartbeat(), name="outbox-lease-heartbeat")

    def _unhold(self, ids: Sequence[int]) -> None:
        self._held.difference_update(ids)
        if not self._held and self._beat is not None:
            # Nothing in hand: no timer is left running between sends.
            self._beat.cancel()
            self._beat = None

    async def _heartbeat(self) -> None:
        while self._held:
            await asyncio.sleep(self.heartbeat_seconds)
            if self._held:
                # Shielded: stopping the heartbeat never interrupts a renewal mid-query.
                await asyncio.shield(self._renew_safely())

    async def _renew_safely(self) -> None:
        try:
            await self.renew()
        except Exception as exc:
            # The send goes on; if the lease runs out meanwhile, another process may send
            # the same delivery too, with the same key (the platform recognises it).
            log.warning("could not renew outbox leases (%s); will try again", exc)


class Pump:
    """Drains one platform's outbox through the adapter's `send` (its only part: "send
    this natively", raising PermanentSendError for what can never succeed). The one owner
    of the drain policy for every adapter: a round at a time, a round every `every`
    seconds, a failed round logged and retried by the next one, and
    what is pending sent (within a time limit) when the adapter stops."""

    def __init__(
        self,
        courier: Courier,
        platform: str,
        send: Send,
        *,
        every: float,
        before_round: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._courier = courier
        self.platform = platform
        self._send = send
        self.every = every
        self._before_round = before_round  # e.g. the console's test tick
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._woken = asyncio.Event()

    async def round(self) -> int:
        """Send what is due now; returns how many were sent. Rounds never overlap."""
        async with self._lock:
            self._woken.clear()  # what woke it is sent by this round
            return await self._courier.deliver_pending(self.platform, self._send)

    def wake(self) -> None:
        """Start the next round of `run(until)` now instead of after the pause (deliveries
        were queued); wakes that come while a round runs make one more round, not many."""
        self._woken.set()

    async def run(self, until: asyncio.Event | None = None) -> None:
        """Rounds until `until` is set (or the task is cancelled)."""
        while until is None or not until.is_set():
            await self.tick()
            await self._pause(until)

    async def tick(self) -> None:
        """One round whose failure is logged, not raised: the next round retries. For a
        platform that brings its own timer (discord.py's task loops) instead of `run`."""
        try:
            if self._before_round is not None:
                await self._before_round()
            await self.round()
        except Exception:
            # The loop outlives one bad round: undelivered rows are retried next time.
            log.exception("outbox delivery round for %s failed; will retry", self.platform)

    async def _pause(self, until: asyncio.Event | None) -> None:
        if until is None:
            await asyncio.sleep(self.every)  # a plain sleep: test clocks can see through it
            return
        stop, woken = asyncio.ensure_future(until.wait()), asyncio.ensure_future(self._woken.wait())
        try:
            await asyncio.wait({stop, woken}, timeout=self.every, return_when=FIRST_COMPLETED)
        finally:
            stop.cancel()
            woken.cancel()

    def start(self) -> None:
        """Run the rounds in the background (again, if they stopped)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"{self.platform}-outbox")

    async def stop(self, drain_seconds: float = 0.0) -> None:
        """Stop the background rounds; with `drain_seconds`, send what is pending first
        (within that time: a platform that is down does not hold the stop up)."""
        if self._task is not None:
            task, self._task = self._task, None
            await cancel_and_wait(task)  # raises what ended it, if not the stop
        if drain_seconds > 0:
            try:
                # Not wait_for: on Python 3.11 a stop cancelled as the round ends carried on
                # as if it had never been cancelled. The round runs in this task.
                async with asyncio.timeout(drain_seconds):
                    await self.round()
            except Exception:
                log.warning(
                    "could not deliver everything pending on %s before stopping", self.platform
                )
