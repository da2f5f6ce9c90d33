"""The sync loop: long-polls, hands new events to intake once, accepts invites, saves the token."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from aiohttp import ClientConnectionError
from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinError,
    MatrixRoom,
    MessageDirection,
    RoomCreateEvent,
    RoomInfo,
    RoomMemberEvent,
    RoomMessagesResponse,
    SyncResponse,
    UnknownAccountDataEvent,
)

from adapters.matrix.direct import M_DIRECT, DirectRooms, invite_is_direct
from adapters.matrix.encryption import Encryption
from adapters.matrix.intake import Intake
from adapters.matrix.lanes import MAX_IN_HAND, Checkpoints
from adapters.matrix.outgoing import Outgoing
from adapters.matrix.power import creators_of
from adapters.matrix.preflight import unreachable
from adapters.matrix.privately import PrivateReplies
from adapters.matrix.session import Login
from adapters.matrix.state import AdapterState
from adapters.matrix.undecrypted import Undecrypted
from bot.clock import Clock
from bot.config import MatrixSettings
from bot.lanes import Lanes
from bot.ports import CoreAPI
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

_MAX_BACKFILL_PAGES = 20
_ROOMS_LISTED = 10


def inviter_allowed(inviter: str, allowed: Sequence[str]) -> bool:
    """Whether `inviter` matches `allowed` (user ids or patterns like `*:example.org`);
    an empty list allows anyone."""
    if not allowed:
        return True
    return any(fnmatch.fnmatchcase(inviter, pattern) for pattern in allowed)


class SyncLoop:
    """One run's sync with the homeserver; `ready` is set once its first sync is handled."""

    def __init__(
        self,
        client: AsyncClient,
        settings: MatrixSettings,
        *,
        state: AdapterState,
        clock: Clock,
        login: Login,
        encryption: Encryption,
        undecrypted: Undecrypted,
        intake: Intake,
        private: PrivateReplies,
        outgoing: Outgoing,
        direct: DirectRooms,
        creators: dict[str, frozenset[str]],
        ready: asyncio.Event,
        stopping: asyncio.Event,
        sync_timeout_ms: int,
        timeline_limit: int,
        max_retry_wait: float,
        last_sync: datetime | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.state = state
        self.clock = clock
        self.login = login
        self.encryption = encryption
        self.undecrypted = undecrypted
        self.intake = intake
        self.private = private
        self.outgoing = outgoing
        self.direct = direct
        self.creators = creators
        self.ready = ready
        self.stopping = stopping
        self.sync_timeout_ms = sync_timeout_ms
        self.timeline_limit = timeline_limit
        self.max_retry_wait = max_retry_wait
        self.last_sync = last_sync
        self.failures = 0
        self.lanes = Lanes()

    @property
    def bot_id(self) -> str:
        return str(self.client.user_id)

    async def run(self, core: CoreAPI) -> None:
        """Sync until stopped; the events in hand are handled before it returns."""
        checkpoints = Checkpoints(self.state.save_sync_token)
        try:
            await self._run(core, checkpoints)
            await checkpoints.settle()
        except BaseException:
            # Cancelled or failed: what is in hand is cancelled, and has ended before this
            # returns, since the adapter then closes the client (a reply sent after that
            # would open a session that nothing closes). Its tokens stay unsaved, so the
            # next run sees those events again.
            checkpoints.abandon()
            await self.lanes.cancel_all()
            raise

    async def _run(self, core: CoreAPI, checkpoints: Checkpoints) -> None:
        token = self.state.load_sync_token()
        first = True
        self.failures = 0
        while not self.stopping.is_set():
            # The first sync of a run asks for full state: room members and power levels
            # are only in memory, and an incremental sync would not repeat them.
            request = asyncio.ensure_future(
                self.client.sync(
                    timeout=0 if first else self.sync_timeout_ms,
                    sync_filter={"room": {"timeline": {"limit": self.timeline_limit}}},
                    since=token,
                    full_state=first or None,
                )
            )
            stopping = asyncio.ensure_future(self.stopping.wait())
            failed = asyncio.ensure_future(checkpoints.failed.wait())
            try:
                await asyncio.wait({request, stopping, failed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                failed.cancel()
                abandoned = not request.done()
                if abandoned:
                    # Stopping, failed or this loop cancelled: how the request ends no
                    # longer matters, but it must have ended before the client closes
                    # (nio retries a timed-out sync on a new session otherwise). A
                    # cancellation of this loop itself is raised.
                    with contextlib.suppress(Exception):
                        await cancel_and_wait(request)
            if abandoned:
                self._raise_failure(checkpoints)
                return
            try:
                response = request.result()
            except (ClientConnectionError, TimeoutError) as exc:
                self.failures += 1
                wait = min(self.max_retry_wait, 0.5 * 2**self.failures)
                log.warning(
                    "%s; retrying in %.0f s", unreachable(self.settings.homeserver, exc), wait
                )
                await self._pause(wait)
                continue
            if not isinstance(response, SyncResponse):
                self.failures += 1
                if getattr(response, "status_code", None) == "M_UNKNOWN_TOKEN":
                    if not self.login.can_log_in_again:
                        raise self.login.refusal("the bot's login", response)
                    # The session was logged out (an admin, a password change): log in
                    # again on the same device, so that the encryption keys stay valid.
                    await self.login.login(self.client)
                    continue
                wait = min(self.max_retry_wait, 0.5 * 2**self.failures)
                log.warning(
                    "Matrix sync with %s failed: %s; retrying in %.0f s",
                    self.settings.homeserver,
                    response,
                    wait,
                )
                await self._pause(wait)
                continue
            self.failures = 0
            self.last_sync = self.clock.now()
            # Learn new devices first, so that replies are encrypted for every member.
            await self.encryption.maintain_keys()
            # With no saved token this is the bot's very first sync: everything in it is
            # history from before the bot was running, so it is seen but not acted on.
            handling = await self._process(core, response, since=token)
            token = response.next_batch
            saved = checkpoints.add(handling, token)
            await self.encryption.maintain_keys()
            if first:
                await saved  # `ready` means the first sync's events are handled
                self._log_rooms()
            first = False
            self._raise_failure(checkpoints)
            while self.lanes.in_hand > MAX_IN_HAND:
                await asyncio.wait({saved}, timeout=1.0)
            self.ready.set()
            # Outbox deliveries go out with the pump's rounds (woken when this process
            # queues some), off this loop: the next sync is not held up by them, and
            # the commands of this sync do not wait behind a lease round.
            await self.private.flush()

    @staticmethod
    def _raise_failure(checkpoints: Checkpoints) -> None:
        # An unexpected error in handling an event stops the loop (and the adapter), as
        # it did when events were handled one by one; expected ones are logged in intake.
        failure = checkpoints.failure()
        if failure is not None:
            raise failure

    def _log_rooms(self) -> None:
        rooms = sorted(self.client.rooms.values(), key=lambda room: room.room_id)
        listed = ", ".join(
            f"{room.display_name} ({room.room_id})" for room in rooms[:_ROOMS_LISTED]
        )
        more = f" and {len(rooms) - _ROOMS_LISTED} more" if len(rooms) > _ROOMS_LISTED else ""
        log.info("Matrix: %s is in %d room(s): %s%s", self.bot_id, len(rooms), listed, more)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    async def _process(
        self, core: CoreAPI, response: SyncResponse, since: str | None
    ) -> list[asyncio.Task[None]]:
        """Hands the sync's new events to their lanes; returns the tasks handling them."""
        for data in response.account_data_events:
            if isinstance(data, UnknownAccountDataEvent) and data.type == M_DIRECT:
                self.direct.learn(data.content)
        for room_id, invite in response.rooms.invite.items():
            await self._consider_invite(room_id, invite.invite_state)
        for room_id, info in response.rooms.join.items():
            for event in [*info.state, *info.timeline.events]:
                if isinstance(event, RoomCreateEvent):
                    self.creators[room_id] = creators_of(event.source)
        if since is None:
            return []
        # Each member's messages in a room are handled in order, different members' and
        # rooms' concurrently, while the loop syncs on (see Checkpoints).
        # A member's event that cannot be read yet is held, with their later ones in that
        # room, until its room key comes (nio took in this sync's keys before): those held
        # events are older than this sync's, so they go to their lanes first.
        handling: list[asyncio.Task[None]] = []
        now = self.clock.now()
        before = self.undecrypted.records()
        for room_id, event in self.undecrypted.release(self.encryption.readable, now):
            if (room := self.client.rooms.get(room_id)) is None:
                self.undecrypted.handled(event.event_id)
                continue
            task = self._submit(core, room, event)
            task.add_done_callback(partial(self._handled, event.event_id))
            handling.append(task)
        for room_id, info in response.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            timeline = await self._whole_timeline(room_id, info, since)
            for event in self._after_own_join(timeline):
                if getattr(event, "sender", None) == self.bot_id:
                    continue
                if not self.undecrypted.admit(room_id, event, now):
                    handling.append(self._submit(core, room, event))
        held = self.undecrypted.records()
        if held != before:
            # On disk before this sync's token is: a restart then still has them.
            self.state.save_undecrypted(held)
        await self.encryption.ask_for_keys(self.undecrypted.to_ask_for())
        return handling

    def _handled(self, event_id: str, task: asyncio.Task[None]) -> None:
        # A held event is forgotten once handled; one whose handling failed stays kept,
        # to be handled again on the next start.
        if not task.cancelled() and task.exception() is None:
            self.undecrypted.handled(event_id)
            self.state.save_undecrypted(self.undecrypted.records())

    def _submit(self, core: CoreAPI, room: MatrixRoom, event: Any) -> asyncio.Task[None]:
        sender = getattr(event, "sender", None)
        return self.lanes.submit(
            (room.room_id, sender), partial(self.intake.handle_safely, core, room, event)
        )

    async def _whole_timeline(self, room_id: str, info: RoomInfo, since: str) -> list[Any]:
        """The room's events since the last sync. A sync returns only the latest few when
        many were sent (while the bot was down); the rest are fetched page by page back to
        the previous sync token, so that no command is skipped."""
        events = list(info.timeline.events)
        if not info.timeline.limited or not info.timeline.prev_batch:
            return events
        missed: list[Any] = []
        start = info.timeline.prev_batch
        for _ in range(_MAX_BACKFILL_PAGES):
            page = await self.client.room_messages(
                room_id, start=start, end=since, direction=MessageDirection.back, limit=100
            )
            if not isinstance(page, RoomMessagesResponse) or not page.chunk:
                break
            missed.extend(page.chunk)
            if not page.end or page.end == start:
                break
            start = page.end
        else:
            log.warning("%s: more missed events than the bot fetches; older ones skipped", room_id)
        return [*reversed(missed), *events]

    def _after_own_join(self, events: Sequence[Any]) -> list[Any]:
        # In the sync right after the bot joins a room, the timeline may reach back before
        # the join; those messages were not sent to the bot and are never acted on.
        start = 0
        for index, event in enumerate(events):
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == self.bot_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                start = index + 1
        return list(events[start:])

    async def _consider_invite(self, room_id: str, invite_state: Sequence[Any]) -> None:
        if not self.settings.auto_join:
            return
        invite = next(
            (
                event
                for event in invite_state
                if isinstance(event, InviteMemberEvent)
                and event.state_key == self.bot_id
                and event.membership == "invite"
            ),
            None,
        )
        inviter = invite.sender if invite is not None else None
        if inviter is None or not inviter_allowed(inviter, self.settings.allowed_inviters):
            log.info("ignoring an invite to %s from %s", room_id, inviter)
            return
        response = await self.client.join(room_id)
        if isinstance(response, JoinError):
            log.warning("could not join %s: %s", room_id, response)
            return
        if invite is not None and invite_is_direct(invite.content):
            await self.private.flag_direct(room_id, inviter)
