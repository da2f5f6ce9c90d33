"""The Matrix adapter: syncs with a homeserver through matrix-nio, turns messages and poll
responses into invocations, and sends replies, native polls and outbox announcements."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import io
import json
import logging
import struct
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import ClientConnectionError, ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    RoomCreateEvent,
    RoomCreateResponse,
    RoomInfo,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    RoomPreset,
    RoomRedactResponse,
    RoomSendResponse,
    SyncResponse,
    UnknownAccountDataEvent,
    UnknownEvent,
    UploadResponse,
    WhoamiResponse,
)
from nio.crypto import ENCRYPTION_ENABLED

from adapters.matrix.direct import M_DIRECT, DirectRooms, invite_is_direct, is_direct
from adapters.matrix.mentions import command_text
from adapters.matrix.polls import (
    RESPONSE_TYPES,
    UNSTABLE_END,
    UNSTABLE_START,
    parse_response,
    poll_end_content,
    poll_fallback,
    poll_start_content,
    supports_native_poll,
    vote_text,
)
from adapters.matrix.power import creators_of, is_room_admin
from adapters.matrix.preflight import TOKEN_HINT, unreachable
from adapters.matrix.private import (
    ENCRYPTION_STATE,
    HeldReplies,
    HeldReply,
    private_room,
    recipient,
)
from adapters.matrix.render import plain_text, render_reply
from adapters.matrix.secret import (
    REDACTION_REASON,
    add_line,
    direct_vote_hint,
    typed_vote_note,
)
from adapters.matrix.state import AdapterState, Session
from bot.clock import Clock, SystemClock
from bot.config import MatrixSettings
from bot.failure_log import log_failure
from bot.invocation import CAP_ATTACHMENTS, CAP_NATIVE_POLLS, Actor, Invocation, RoomRef
from bot.ports import (
    CardClosed,
    CardOpened,
    CardUpdated,
    CoreAPI,
    Delivery,
    Intent,
    OutboxPump,
    PermanentSendError,
    Say,
)
from bot.render.document import Attachment, Reply, line, sent_privately
from bot.supervise import AdapterHealth, PlatformRefused

log = logging.getLogger(__name__)

PLATFORM = "matrix"
_PERMANENT_SEND_ERRORS = frozenset({"M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN"})
_RECENT_EVENTS = 2048
_MAX_BACKFILL_PAGES = 20
# A private reply waits this long for its new direct-message room (a code lives 15 minutes).
PRIVATE_HOLD_SECONDS = 15 * 60.0
# Answers that mean the account or its token is refused for good, not a passing fault.
_REFUSALS = frozenset({"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN", "M_USER_DEACTIVATED"})
_DRAIN_SECONDS = 10.0
_ROOMS_LISTED = 10


class MatrixError(PlatformRefused):
    """The adapter cannot go on (bad credentials, a homeserver refusing the account)."""


class MatrixUnavailable(Exception):
    """The homeserver cannot be reached or answered with an error that may pass."""


def _txn(*parts: str) -> str:
    # Transaction ids derived from what is being answered make a resend after a crash a
    # no-op on the homeserver, which remembers the ids a device used.
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    return f"coopbot-{digest}"


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


def inviter_allowed(inviter: str, allowed: Sequence[str]) -> bool:
    """Whether `inviter` matches `allowed` (user ids or patterns like `*:example.org`);
    an empty list allows anyone."""
    if not allowed:
        return True
    return any(fnmatch.fnmatchcase(inviter, pattern) for pattern in allowed)


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
        self.last_sync: datetime | None = None
        self._sync_failures = 0
        self.timeline_limit = timeline_limit
        self.device_name = device_name
        self.state = AdapterState(Path(settings.store_path))
        self.ready = asyncio.Event()  # set once the first sync of this run is processed
        self._stopping = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._pump: OutboxPump | None = None
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._creators: dict[str, frozenset[str]] = {}
        self._undecrypted: OrderedDict[str, tuple[str, MegolmEvent]] = OrderedDict()
        self._direct = DirectRooms()
        self._private = HeldReplies()
        self._client: AsyncClient | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def client(self) -> AsyncClient:
        if self._client is None:
            raise RuntimeError("the Matrix adapter is not running")
        return self._client

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def run(self, core: CoreAPI) -> None:
        self._stopping.clear()
        self.ready.clear()
        self._pump = None  # a fresh one for this core
        self._client = await self._connect()
        sync = asyncio.create_task(self._sync_loop(core), name="matrix-sync")
        outbox = asyncio.create_task(self._outbox_loop(core), name="matrix-outbox")
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
                await self._outbox(core).stop(_DRAIN_SECONDS)
        finally:
            pending: list[asyncio.Task[Any]] = [sync, outbox, stopping]
            for leftover in pending:
                leftover.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self.client.close()
            self._client = None

    async def stop(self) -> None:
        self._stopping.set()

    def health(self) -> AdapterHealth:
        connected = self._client is not None and self.ready.is_set() and not self._sync_failures
        return AdapterHealth(connected=connected, last_sync=self.last_sync)

    async def _connect(self) -> AsyncClient:
        settings = self.settings
        self.state.prepare()
        config = AsyncClientConfig(
            encryption_enabled=ENCRYPTION_ENABLED,
            store_sync_tokens=False,  # saved by the adapter, only after the events are handled
            max_limit_exceeded=None,  # on 429, wait as long as the homeserver asks, then retry
            # A lost connection fails a request after a few tries (instead of nio retrying
            # forever, silently): the sync loop and the supervisor back off and say why.
            max_timeouts=self.max_timeouts,
            max_timeout_retry_wait_time=self.max_retry_wait,
            request_timeout=60,
        )
        client = AsyncClient(
            settings.homeserver,
            settings.user_id,
            device_id=settings.device_id or None,
            store_path=str(self.state.store_path),
            config=config,
        )
        try:
            await self._login(client)
            if client.olm and client.should_upload_keys:
                await client.keys_upload()
            # Operators publish these so that members can verify the bot's device by hand.
            fingerprint = client.olm.account.identity_keys["ed25519"] if client.olm else "-"
            log.info(
                "Matrix: signed in as %s on %s; device %s, ed25519 key %s",
                client.user_id,
                settings.homeserver,
                client.device_id,
                fingerprint,
            )
        except (ClientError, TimeoutError) as exc:
            await client.close()
            raise MatrixUnavailable(unreachable(settings.homeserver, exc)) from exc
        except BaseException:
            await client.close()
            raise
        return client

    def _refusal(self, what: str, response: object) -> Exception:
        """The error for a refused login or token: for good (MatrixError), or passing."""
        code = getattr(response, "status_code", None)
        if code in _REFUSALS:
            hint = TOKEN_HINT if self.settings.access_token else "check matrix.password"
            return MatrixError(f"{self.settings.homeserver} refused {what} ({response}); {hint}")
        return MatrixUnavailable(f"{self.settings.homeserver} answered {response} to {what}")

    async def _login(self, client: AsyncClient) -> None:
        settings = self.settings
        if settings.access_token:
            device_id = settings.device_id
            if not device_id:
                client.access_token = settings.access_token
                who = await client.whoami()
                if not isinstance(who, WhoamiResponse) or not who.device_id:
                    raise self._refusal("matrix.access_token", who)
                device_id = who.device_id
            client.restore_login(settings.user_id, device_id, settings.access_token)
            return
        saved = self.state.load_session(settings.user_id)
        if saved is not None and (not settings.device_id or saved.device_id == settings.device_id):
            client.restore_login(saved.user_id, saved.device_id, saved.access_token)
            who = await client.whoami()
            if isinstance(who, WhoamiResponse):
                return
            log.warning("the saved Matrix session was refused (%s); logging in again", who)
            client.device_id = saved.device_id  # keep the device, and so its keys
        response = await client.login(settings.password, device_name=self.device_name)
        if not isinstance(response, LoginResponse):
            raise self._refusal(f"the login of {settings.user_id} with matrix.password", response)
        self.state.save_session(
            Session(response.user_id, response.device_id, response.access_token)
        )

    # -- sync --------------------------------------------------------------------------

    async def _sync_loop(self, core: CoreAPI) -> None:
        token = self.state.load_sync_token()
        first = True
        self._sync_failures = 0
        while not self._stopping.is_set():
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
            stopping = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({request, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not request.done():
                request.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await request
                return
            try:
                response = request.result()
            except (ClientConnectionError, TimeoutError) as exc:
                self._sync_failures += 1
                wait = min(self.max_retry_wait, 0.5 * 2**self._sync_failures)
                log.warning(
                    "%s; retrying in %.0f s", unreachable(self.settings.homeserver, exc), wait
                )
                await self._pause(wait)
                continue
            if not isinstance(response, SyncResponse):
                self._sync_failures += 1
                if getattr(response, "status_code", None) == "M_UNKNOWN_TOKEN":
                    if self.settings.access_token or not self.settings.password:
                        raise self._refusal("the bot's login", response)
                    # The session was logged out (an admin, a password change): log in
                    # again on the same device, so that the encryption keys stay valid.
                    await self._login(self.client)
                    continue
                wait = min(self.max_retry_wait, 0.5 * 2**self._sync_failures)
                log.warning(
                    "Matrix sync with %s failed: %s; retrying in %.0f s",
                    self.settings.homeserver,
                    response,
                    wait,
                )
                await self._pause(wait)
                continue
            self._sync_failures = 0
            self.last_sync = self.clock.now()
            # Learn new devices first, so that replies are encrypted for every member.
            await self._maintain_keys()
            # With no saved token this is the bot's very first sync: everything in it is
            # history from before the bot was running, so it is seen but not acted on.
            await self._process(core, response, since=token)
            token = response.next_batch
            self.state.save_sync_token(token)
            await self._maintain_keys()
            if first:
                self._log_rooms()
            first = False
            self.ready.set()
            await self._flush_private()
            await self._deliver_outbox(core)

    def _log_rooms(self) -> None:
        rooms = sorted(self.client.rooms.values(), key=lambda room: room.room_id)
        listed = ", ".join(
            f"{room.display_name} ({room.room_id})" for room in rooms[:_ROOMS_LISTED]
        )
        more = f" and {len(rooms) - _ROOMS_LISTED} more" if len(rooms) > _ROOMS_LISTED else ""
        log.info("Matrix: %s is in %d room(s): %s%s", self.user_id, len(rooms), listed, more)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _maintain_keys(self) -> None:
        client = self.client
        if not client.olm:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _process(self, core: CoreAPI, response: SyncResponse, since: str | None) -> None:
        for data in response.account_data_events:
            if isinstance(data, UnknownAccountDataEvent) and data.type == M_DIRECT:
                self._direct.learn(data.content)
        for room_id, invite in response.rooms.invite.items():
            await self._consider_invite(room_id, invite.invite_state)
        for room_id, info in response.rooms.join.items():
            for event in [*info.state, *info.timeline.events]:
                if isinstance(event, RoomCreateEvent):
                    self._creators[room_id] = creators_of(event.source)
        if since is None:
            return
        for room_id, info in response.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            timeline = await self._whole_timeline(room_id, info, since)
            for event in self._after_own_join(timeline):
                await self._handle_safely(core, room, event)
        if self._undecrypted:
            await self._retry_undecrypted(core)

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

    async def _retry_undecrypted(self, core: CoreAPI) -> None:
        for event_id, (room_id, event) in list(self._undecrypted.items()):
            room = self.client.rooms.get(room_id)
            try:
                decrypted = self.client.decrypt_event(event)
            except Exception:  # nio raises several kinds while the key is still missing
                continue
            del self._undecrypted[event_id]
            if room is not None:
                await self._handle_safely(core, room, decrypted)

    async def _handle_safely(self, core: CoreAPI, room: MatrixRoom, event: Any) -> None:
        try:
            await self._handle_event(core, room, event)
        except (ClientConnectionError, TimeoutError, _SendError) as exc:
            # The command ran (the core committed it) but its reply could not be sent;
            # one bad event must not stop the bot from reading the room. The error's
            # message is withheld: it may quote the reply (a secret choice).
            log_failure(log, exc, "could not answer %s in %s", event.event_id, room.room_id)

    def _after_own_join(self, events: Sequence[Any]) -> list[Any]:
        # In the sync right after the bot joins a room, the timeline may reach back before
        # the join; those messages were not sent to the bot and are never acted on.
        start = 0
        for index, event in enumerate(events):
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == self.user_id
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
                and event.state_key == self.user_id
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
            await self._flag_direct(room_id, inviter)

    async def _flag_direct(self, room_id: str, user_id: str) -> None:
        """Remember a direct-message room in the bot's `m.direct` account data, where the
        flag outlives a restart (and the bot account's other clients see it too)."""
        content = self._direct.add(room_id, user_id)
        if content is None:
            return
        path = f"/_matrix/client/v3/user/{quote(self.user_id, safe='')}/account_data/{M_DIRECT}"
        headers = {
            "Authorization": f"Bearer {self.client.access_token}",
            "Content-Type": "application/json",
        }
        try:
            answer = await self.client.send("PUT", path, json.dumps(content), headers)
            status = answer.status
            answer.release()
        except (ClientConnectionError, TimeoutError) as exc:
            log.warning("could not store %s as a direct message (%s)", room_id, exc)
            return
        if status != 200:
            log.warning("could not store %s as a direct message (HTTP %s)", room_id, status)

    # -- incoming events ---------------------------------------------------------------

    def _first_time(self, event_id: str) -> bool:
        # The core ignores a message id it has seen; this only saves it the round trip.
        if event_id in self._recent:
            return False
        self._recent[event_id] = None
        if len(self._recent) > _RECENT_EVENTS:
            self._recent.popitem(last=False)
        return True

    async def _handle_event(self, core: CoreAPI, room: MatrixRoom, event: Any) -> None:
        sender = getattr(event, "sender", None)
        if sender is None or sender == self.user_id:
            return
        if isinstance(event, MegolmEvent):
            log.warning(
                "could not decrypt %s in %s (session %s); asking for the key",
                event.event_id,
                room.room_id,
                event.session_id,
            )
            with contextlib.suppress(Exception):
                await self.client.request_room_key(event)
            # Tried again after each sync: the key often arrives a moment later.
            self._undecrypted[event.event_id] = (room.room_id, event)
            while len(self._undecrypted) > _RECENT_EVENTS:
                self._undecrypted.popitem(last=False)
            return
        if isinstance(event, RoomMessageText):
            await self._handle_message(core, room, event)
        elif isinstance(event, UnknownEvent) and event.type in RESPONSE_TYPES:
            await self._handle_poll_response(core, room, event)

    def _actor(self, room: MatrixRoom, sender: str) -> Actor:
        level = room.power_levels.get_user_level(sender)
        creators = self._creators.get(room.room_id, frozenset())
        return Actor(
            platform=PLATFORM,
            user_id=sender,
            display_name=room.user_name(sender) or sender,
            is_room_admin=is_room_admin(sender, level, room.room_version, creators),
        )

    async def _handle_message(
        self, core: CoreAPI, room: MatrixRoom, event: RoomMessageText
    ) -> None:
        if event.source.get("content", {}).get("m.relates_to", {}).get("rel_type") == "m.replace":
            return  # an edit: the original command already ran
        parsed = command_text(event.body, event.formatted_body)
        if not parsed.text.startswith(self.prefix) or not self._first_time(event.event_id):
            return
        text = parsed.text[len(self.prefix) :].strip()
        if not text:
            return
        direct = await self._is_direct(core, room, event.sender, text)
        invocation = Invocation(
            room=RoomRef(PLATFORM, room.room_id),
            actor=self._actor(room, event.sender),
            text=text,
            message_id=event.event_id,
            capabilities=self.capabilities,
            mentioned=parsed.mentioned,
            direct=direct,
        )
        # A vote typed in a group room on a secret ballot is seen by the whole room.
        secret = not direct and await core.secret_vote(invocation) is not None
        answers = await core.answer(invocation)
        note: tuple[str, str] | None = None
        if secret:
            # The vote counts (the core has it); what must go is the room event showing it.
            note = typed_vote_note(await self._redact(room, event.event_id), self.user_id)
        for index, answer in enumerate(answers):
            extra_line = note if index == 0 else None
            if answer.delivery is not None:
                send = partial(self._send_delivery, core, extra_line=extra_line, direct=direct)
                await core.deliver(answer.delivery, send)
                continue
            await self.send_reply(
                core,
                room.room_id,
                answer.reply,
                _txn(event.event_id, str(index)),
                event.event_id,
                extra_line=extra_line,
                direct=direct,
                intent=answer.intent,
            )
        await self._deliver_outbox(core)

    async def _is_direct(self, core: CoreAPI, room: MatrixRoom, sender: str, text: str) -> bool:
        # room.users holds the invited members too: they could join and read the history.
        flagged = self._direct.flagged(room.room_id)
        if not is_direct(flagged, set(room.users), self.user_id, sender, text):
            return False
        return not await core.room_is_bound(RoomRef(PLATFORM, room.room_id))

    async def _redact(self, room: MatrixRoom, event_id: str) -> bool:
        """Redact a member's message where the bot's power level allows; whether it did."""
        levels = room.power_levels
        if not (
            levels.can_user_redact(self.user_id)
            and levels.can_user_send_message(self.user_id, "m.room.redaction")
        ):
            return False
        try:
            response = await self.client.room_redact(
                room.room_id, event_id, reason=REDACTION_REASON, tx_id=_txn("redact", event_id)
            )
        except (ClientConnectionError, TimeoutError) as exc:
            log.warning("could not redact %s in %s (%s)", event_id, room.room_id, exc)
            return False
        if not isinstance(response, RoomRedactResponse):
            log.warning("could not redact %s in %s: %s", event_id, room.room_id, response)
            return False
        return True

    async def _handle_poll_response(
        self, core: CoreAPI, room: MatrixRoom, event: UnknownEvent
    ) -> None:
        response = parse_response(event.source.get("content", {}))
        if response is None or not self._first_time(event.event_id):
            return
        ref = await core.decision_of(PLATFORM, response.poll_event_id)
        text = vote_text(ref.number, response.selections) if ref is not None else None
        if text is None:
            return
        invocation = Invocation(
            room=RoomRef(PLATFORM, room.room_id),
            actor=self._actor(room, event.sender),
            text=text,
            message_id=event.event_id,
            capabilities=self.capabilities,
        )
        answers = await core.answer(invocation)
        reacted = False

        async def react(delivery: Delivery | None = None) -> None:
            # The poll already shows the member their choice; a message per click
            # would flood the room, so a confirmation is a reaction instead.
            nonlocal reacted
            if not reacted:
                await self._react(room.room_id, event.event_id, "✅")
                reacted = True

        for index, answer in enumerate(answers):
            reply = answer.reply
            confirmation = reply.kind == "info" and not reply.attachments and reply.choices is None
            if answer.delivery is not None:
                send = react if confirmation else partial(self._send_delivery, core)
                await core.deliver(answer.delivery, send)
            elif confirmation:
                await react()
            else:
                await self.send_reply(
                    core,
                    room.room_id,
                    reply,
                    _txn(event.event_id, str(index)),
                    event.event_id,
                    intent=answer.intent,
                )
        await self._deliver_outbox(core)

    # -- outgoing ----------------------------------------------------------------------

    def _outbox(self, core: CoreAPI) -> OutboxPump:
        """The core's drain loop for Matrix rooms, sending through `_send_delivery`."""
        if self._pump is None:
            send = partial(self._send_delivery, core)
            self._pump = core.pump(PLATFORM, send, every=self.outbox_poll_seconds)
        return self._pump

    async def _deliver_outbox(self, core: CoreAPI) -> None:
        """Send every due outbox delivery for Matrix rooms; the core retries a failed one
        with back-off (the outbox keeps it until it is sent or given up)."""
        await self._outbox(core).round()

    async def _send_delivery(
        self,
        core: CoreAPI,
        delivery: Delivery,
        *,
        extra_line: tuple[str, str] | None = None,
        direct: bool | None = None,
    ) -> str | None:
        """Send an outbox delivery (an announcement, or the answer to a command, also one
        sent after a restart) with the transaction id derived from its row: a resend after
        a crash between send and mark is a no-op on the homeserver."""
        room = delivery.room
        if direct is None:
            # Only an answer can be in a direct-message room (announcements go to rooms
            # bound to a co-op, which are never direct).
            direct = delivery.reply_to is not None and not await core.room_is_bound(room)
        return await self.send_reply(
            core,
            room.room_id,
            delivery.reply,
            f"coopbot-{delivery.key}",
            delivery.reply_to,
            extra_line=extra_line,
            direct=direct,
            intent=delivery.intent,
        )

    async def _outbox_loop(self, core: CoreAPI) -> None:
        await self.ready.wait()
        await self._outbox(core).run(until=self._stopping)

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
        """Send one reply: the notice, its attachments, and its poll start or poll end.
        `extra_line` is a Matrix-only (plain, HTML) line added under the reply. In a
        `direct` message an announcement (a proposal made there) is only an answer: its
        poll and its secret-ballot hint belong to the co-op's rooms, which get it too.
        A private reply goes to the person's direct-message room instead (in a `direct`
        message it is already there). Returns the event id of the notice."""
        intent = intent if intent is not None else Say()
        async with self._send_lock:
            if reply.private and not direct:
                return await self._send_privately(core, room_id, reply, txn, in_reply_to)
            content = render_reply(reply, self.prefix)
            secret_ballot = (
                isinstance(intent, CardOpened | CardUpdated) and intent.secret_ballot and not direct
            )
            if secret_ballot:
                content = add_line(content, *direct_vote_hint(reply, self.user_id, self.prefix))
            if extra_line is not None:
                content = add_line(content, *extra_line)
            if in_reply_to:
                content["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
            event_id = await self._send(room_id, "m.room.message", content, txn)
            for index, attachment in enumerate(reply.attachments):
                await self._send_attachment(room_id, attachment, f"{txn}-a{index}")
            if (
                isinstance(intent, CardOpened | CardUpdated | CardClosed)
                and intent.news
                and not direct
            ):
                # Only the news of a decision opening or closing starts or ends a poll (not
                # in a direct message); a `show` carries the same choices and must not.
                await self._sync_poll(core, room_id, reply, intent, txn)
            return event_id

    async def _send_privately(
        self, core: CoreAPI, room_id: str, reply: Reply, txn: str, in_reply_to: str | None
    ) -> str | None:
        """Send `reply` where only its recipient can read it, and tell the room (when it
        answers a command there) only that it was sent privately. A room opened just now
        reaches the bot with a later sync: the reply waits for it (see _flush_private)."""
        user_id = recipient(reply.private_to)
        if user_id is None:
            raise _PermanentSendError("a private reply for someone who is not on Matrix")
        private_txn = f"{txn}-private"
        dm = await self._private_room_of(core, user_id)
        sent: str | None = None
        if dm is not None:
            sent = await self._send_content(dm, reply, private_txn)
        else:
            opened = self._private.opening.get(user_id) or await self._open_private_room(user_id)
            if opened is None:
                notice = Reply(
                    kind="error",
                    blocks=(
                        line(
                            "I could not open a direct message with you; start one with "
                            f"{self.user_id} and ask there"
                        ),
                    ),
                )
                return await self._send_notice(room_id, notice, txn, in_reply_to)
            self._private.hold(HeldReply(opened, reply, private_txn, self._seconds()))
        if in_reply_to is None:
            return sent  # an outbox delivery: the room asked nothing, so it is told nothing
        return await self._send_notice(room_id, sent_privately(), txn, in_reply_to)

    async def _send_notice(
        self, room_id: str, reply: Reply, txn: str, in_reply_to: str | None
    ) -> str:
        content = render_reply(reply, self.prefix)
        if in_reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
        return await self._send(room_id, "m.room.message", content, txn)

    async def _send_content(self, room_id: str, reply: Reply, txn: str) -> str:
        """A reply's notice and attachments, nothing else (no poll, no hints)."""
        event_id = await self._send(
            room_id, "m.room.message", render_reply(reply, self.prefix), txn
        )
        for index, attachment in enumerate(reply.attachments):
            await self._send_attachment(room_id, attachment, f"{txn}-a{index}")
        return event_id

    async def _private_room_of(self, core: CoreAPI, user_id: str) -> str | None:
        """A synced direct-message room only the bot and `user_id` can read, if there is one."""
        need_encryption = self.client.olm is not None
        for candidate in self._direct.rooms_of(user_id):
            chosen = private_room(
                [candidate],
                self.client.rooms,
                self.user_id,
                user_id,
                need_encryption=need_encryption,
            )
            # A room bound to a co-op is a group room, whoever happens to be in it now.
            if chosen and not await core.room_is_bound(RoomRef(PLATFORM, chosen)):
                return chosen
        return None

    async def _open_private_room(self, user_id: str) -> str | None:
        """Create an invite-only direct-message room with `user_id` (encrypted when the bot
        has end-to-end encryption) and flag it in m.direct; None if the homeserver refuses."""
        try:
            response = await self.client.room_create(
                is_direct=True,
                invite=[user_id],
                preset=RoomPreset.private_chat,
                initial_state=[ENCRYPTION_STATE] if self.client.olm else [],
            )
        except (ClientConnectionError, TimeoutError) as exc:
            log.warning("could not open a direct message with %s (%s)", user_id, exc)
            return None
        if not isinstance(response, RoomCreateResponse):
            log.warning("could not open a direct message with %s: %s", user_id, response)
            return None
        room_id = str(response.room_id)
        self._private.opening[user_id] = room_id
        await self._flag_direct(room_id, user_id)
        return room_id

    async def _flush_private(self) -> None:
        """Send the private replies whose new rooms this sync brought; retry the rest later."""
        for item in self._private.expire(self._seconds(), PRIVATE_HOLD_SECONDS):
            log.warning("a private reply for %s was dropped: the room never synced", item.room_id)
        ready = self._private.ready(self.client.rooms)
        for index, item in enumerate(ready):
            try:
                async with self._send_lock:
                    await self._send_content(item.room_id, item.reply, item.txn)
            except _PermanentSendError as exc:
                log.warning("a private reply for %s was dropped: %s", item.room_id, exc)
            except (_SendError, ClientConnectionError, TimeoutError) as exc:
                log.warning("a private reply for %s waits (%s)", item.room_id, exc)
                for rest in ready[index:]:
                    self._private.hold(rest)
                return

    def _seconds(self) -> float:
        return self.clock.now().timestamp()

    async def _sync_poll(
        self,
        core: CoreAPI,
        room_id: str,
        reply: Reply,
        intent: CardOpened | CardUpdated | CardClosed,
        txn: str,
    ) -> None:
        choices = reply.choices
        assert choices is not None
        linked = [
            message_id
            for linked_room, message_id in await core.cards_of(PLATFORM, intent.ref)
            if linked_room == room_id
        ]
        if isinstance(intent, CardClosed):
            summary = plain_text(reply)
            for poll_id in linked:
                await self._send(
                    room_id, UNSTABLE_END, poll_end_content(poll_id, summary), _txn("end", poll_id)
                )
            return
        if linked or not supports_native_poll(choices):
            return
        content = poll_start_content(choices, poll_fallback(choices, self.prefix))
        poll_id = await self._send(room_id, UNSTABLE_START, content, f"{txn}-poll")
        await core.link_card(PLATFORM, room_id, poll_id, intent.ref)

    async def _send_attachment(self, room_id: str, attachment: Attachment, txn: str) -> None:
        room = self.client.rooms.get(room_id)
        encrypt = bool(room and room.encrypted)
        upload, keys = await self.client.upload(
            io.BytesIO(attachment.data),
            content_type=attachment.content_type,
            filename=attachment.filename,
            encrypt=encrypt,
            filesize=len(attachment.data),
        )
        if not isinstance(upload, UploadResponse):
            raise _SendError(f"upload of {attachment.filename} failed: {upload}")
        is_image = attachment.content_type.startswith("image/")
        info: dict[str, Any] = {"mimetype": attachment.content_type, "size": len(attachment.data)}
        size = _png_size(attachment.data)
        if size:
            info["w"], info["h"] = size
        content: dict[str, Any] = {
            "msgtype": "m.image" if is_image else "m.file",
            "body": attachment.alt or attachment.filename,
            "filename": attachment.filename,
            "info": info,
        }
        if encrypt and keys is not None:
            content["file"] = {"url": upload.content_uri, **keys}
        else:
            content["url"] = upload.content_uri
        await self._send(room_id, "m.room.message", content, txn)

    async def _react(self, room_id: str, event_id: str, key: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        with contextlib.suppress(_SendError):
            await self._send(room_id, "m.reaction", content, _txn("react", event_id, key))

    async def _send(self, room_id: str, event_type: str, content: dict[str, Any], txn: str) -> str:
        if room_id not in self.client.rooms:
            raise _PermanentSendError(f"the bot is not in {room_id}")
        try:
            response = await self.client.room_send(
                room_id, event_type, content, tx_id=txn, ignore_unverified_devices=True
            )
        except LocalProtocolError as exc:  # e.g. an encrypted room whose members are unknown
            raise _SendError(str(exc)) from exc
        if isinstance(response, RoomSendResponse):
            return str(response.event_id)
        code = getattr(response, "status_code", None)
        if code in _PERMANENT_SEND_ERRORS:
            raise _PermanentSendError(f"{code}: {getattr(response, 'message', response)}")
        raise _SendError(str(response))


class _SendError(Exception):
    """A message could not be sent now; it may succeed later."""


class _PermanentSendError(_SendError, PermanentSendError):
    """A message can never be sent (the bot left the room, or was never in it)."""
