"""The Matrix adapter: composes sign-in, sync, intake, encryption, sending and ballots."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any

from nio import AsyncClient

from adapters.matrix.ballots import Ballots
from adapters.matrix.direct import DirectRooms
from adapters.matrix.encryption import Encryption
from adapters.matrix.intake import Intake
from adapters.matrix.outgoing import Outgoing
from adapters.matrix.private import HeldReplies
from adapters.matrix.privately import PrivateReplies
from adapters.matrix.sending import Sender
from adapters.matrix.session import Login, MatrixError, MatrixUnavailable
from adapters.matrix.state import AdapterState
from adapters.matrix.sync import SyncLoop
from adapters.matrix.undecrypted import Undecrypted
from bot.clock import Clock, SystemClock
from bot.config import MatrixSettings
from bot.invocation import CAP_ATTACHMENTS, CAP_NATIVE_POLLS
from bot.ports import CoreAPI, Intent
from bot.render.document import Reply
from bot.supervise import AdapterHealth

__all__ = ["MatrixAdapter", "MatrixError", "MatrixUnavailable"]

PLATFORM = "matrix"
_DRAIN_SECONDS = 10.0


class _Parts:
    """One run's components, built once the client is signed in."""

    def __init__(self, adapter: MatrixAdapter, client: AsyncClient, login: Login) -> None:
        bot_id = str(client.user_id)
        lock = asyncio.Lock()
        self.client = client
        self.sender = Sender(client, adapter.prefix)
        self.encryption = Encryption(client)
        # Held members' events outlive a run: what the last one held is read back.
        self.undecrypted = Undecrypted()
        self.undecrypted.restore(adapter.state.load_undecrypted())
        self.ballots = Ballots(self.sender, adapter.prefix, bot_id)
        self.private = PrivateReplies(
            client, self.sender, adapter._direct, adapter._held, adapter.clock, lock
        )
        self.outgoing = Outgoing(
            self.sender,
            self.ballots,
            self.private,
            adapter.prefix,
            lock,
            adapter.outbox_poll_seconds,
            adapter.clock,
        )
        self.intake = Intake(
            client,
            adapter.prefix,
            adapter.capabilities,
            direct=adapter._direct,
            creators=adapter._creators,
            recent=adapter._recent,
            ballots=self.ballots,
            sender=self.sender,
            outgoing=self.outgoing,
        )
        self.sync = SyncLoop(
            client,
            adapter.settings,
            state=adapter.state,
            clock=adapter.clock,
            login=login,
            encryption=self.encryption,
            undecrypted=self.undecrypted,
            intake=self.intake,
            private=self.private,
            outgoing=self.outgoing,
            direct=adapter._direct,
            creators=adapter._creators,
            ready=adapter.ready,
            stopping=adapter._stopping,
            sync_timeout_ms=adapter.sync_timeout_ms,
            timeline_limit=adapter.timeline_limit,
            max_retry_wait=adapter.max_retry_wait,
            last_sync=adapter.last_sync,
        )


class MatrixAdapter:
    """A ChatAdapter for Matrix. Everything it keeps (session, crypto keys, sync token)
    lives under `settings.store_path`, so a restart picks up exactly where it stopped."""

    platform = PLATFORM
    capabilities = frozenset({CAP_NATIVE_POLLS, CAP_ATTACHMENTS})

    def __init__(
        self,
        settings: MatrixSettings,
        prefix: str | None = None,
        clock: Clock | None = None,
        *,
        outbox_poll_seconds: float = 2.0,
        sync_timeout_ms: int = 30_000,
        max_retry_wait: float = 30.0,
        max_timeouts: int | None = 3,
        timeline_limit: int = 50,
        device_name: str = "coopbot",
    ) -> None:
        self.settings = settings
        self.prefix = prefix if prefix is not None else settings.command_prefix
        self.clock: Clock = clock or SystemClock()
        self.outbox_poll_seconds = outbox_poll_seconds
        self.sync_timeout_ms = sync_timeout_ms
        self.max_retry_wait = max_retry_wait
        self.max_timeouts = max_timeouts
        self.timeline_limit = timeline_limit
        self.device_name = device_name
        self.state = AdapterState(Path(settings.store_path))
        self.ready = asyncio.Event()  # set once the first sync of this run is processed
        self._stopping = asyncio.Event()
        # What outlives one run of the client: events seen, room creators, DM flags, and
        # private replies waiting for their room.
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._creators: dict[str, frozenset[str]] = {}
        self._direct = DirectRooms()
        self._held = HeldReplies()
        self._parts: _Parts | None = None
        self._last_sync: datetime | None = None  # of an earlier run, once it has ended

    @property
    def client(self) -> AsyncClient:
        return self._running.client

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @property
    def _running(self) -> _Parts:
        if self._parts is None:
            raise RuntimeError("the Matrix adapter is not running")
        return self._parts

    async def run(self, core: CoreAPI) -> None:
        self._stopping.clear()
        self.ready.clear()
        login = Login(
            self.settings,
            self.state,
            device_name=self.device_name,
            max_timeouts=self.max_timeouts,
            max_retry_wait=self.max_retry_wait,
        )
        parts = self._parts = _Parts(self, await login.connect(), login)
        parts.outgoing.join(core)  # its live cards follow votes cast anywhere
        sync = asyncio.create_task(parts.sync.run(core), name="matrix-sync")
        outbox = asyncio.create_task(self._outbox_loop(parts, core), name="matrix-outbox")
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            done, _ = await asyncio.wait(
                {sync, outbox, stopping}, return_when=asyncio.FIRST_COMPLETED
            )
            self._stopping.set()
            # The loops finish the work in hand and return; a crashed loop re-raises here.
            for task in (sync, outbox):
                if task in done:
                    task.result()
            await asyncio.gather(sync, outbox)
            if self.ready.is_set():
                # Stopping (SIGTERM): what is pending goes out before the client closes.
                await parts.outgoing.pump(core).stop(_DRAIN_SECONDS)
        finally:
            parts.outgoing.leave()
            pending: list[asyncio.Task[Any]] = [sync, outbox, stopping]
            for leftover in pending:
                leftover.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await parts.outgoing.close()
            await parts.client.close()
            self._last_sync = parts.sync.last_sync
            self._parts = None

    async def _outbox_loop(self, parts: _Parts, core: CoreAPI) -> None:
        await self.ready.wait()
        await parts.outgoing.pump(core).run(until=self._stopping)

    async def stop(self) -> None:
        self._stopping.set()

    @property
    def last_sync(self) -> datetime | None:
        """When a sync last succeeded (in this run, or the last one once it has ended)."""
        return self._parts.sync.last_sync if self._parts is not None else self._last_sync

    def health(self) -> AdapterHealth:
        parts = self._parts
        connected = parts is not None and self.ready.is_set() and not parts.sync.failures
        return AdapterHealth(connected=connected, last_sync=self.last_sync)

    async def send_reply(
        self,
        core: CoreAPI,
        room_id: str,
        reply: Reply,
        txn: str,
        in_reply_to: str | None = None,
        *,
        extra_line: tuple[str, str] | None = None,
        direct: bool = False,
        intent: Intent | None = None,
    ) -> str | None:
        """Send one reply into `room_id` as the running adapter would (see Outgoing)."""
        return await self._running.outgoing.send_reply(
            core,
            room_id,
            reply,
            txn,
            in_reply_to,
            extra_line=extra_line,
            direct=direct,
            intent=intent,
        )
