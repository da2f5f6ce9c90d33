"""The Discord adapter: slash commands and voting controls in, rendered replies and outbox
announcements out, over a real discord.py client (plain or auto-sharded)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import tasks

from adapters.discord.preflight import INTENT_HINT, TOKEN_HINT, refused_token
from adapters.discord.render import PLATFORM, OutMessage, render_reply
from adapters.discord.role_sync import RoleSync
from adapters.discord.roles import DEFAULT_PAGE_SIZE
from adapters.discord.slash import SlashCall, build_app_commands, slash_text
from adapters.discord.views import DYNAMIC_ITEMS, build_view
from bot.commands.spec import Command
from bot.config import DiscordSettings, Settings
from bot.errors import UserError
from bot.invocation import (
    CAP_ATTACHMENTS,
    CAP_BUTTONS,
    CAP_EPHEMERAL,
    CAP_ROLE_SYNC,
    Actor,
    Invocation,
    RoomRef,
)
from bot.ports import Answer, CoreAPI, Delivery, PermanentSendError
from bot.render.document import Reply, error
from bot.supervise import AdapterHealth, PlatformRefused

log = logging.getLogger(__name__)

CAPABILITIES = frozenset({CAP_BUTTONS, CAP_EPHEMERAL, CAP_ATTACHMENTS})
# Commands whose decision card is a fresh message; after any other command (vote, close,
# extend) a card in the reply updates the cards already posted about that decision.
NEW_CARD_COMMANDS = frozenset({"propose", "poll", "show"})
# After these bind a channel or change what its roles may do, the roles are synced at once.
BINDING_COMMANDS = frozenset({("coop", "setup"), ("coop", "bind"), ("coop", "sync")})
# Discord wants an answer within 3 s; past this the adapter defers and answers later.
DEFER_AFTER_SECONDS = 2.0
NOTHING_TO_SAY = "Done."
MAX_CARDS_EDITED = 10
DRAIN_SECONDS = 10.0
GUILDS_LISTED = 10
# Gateway close codes that no reconnect can cure: authentication failed, bad intents.
FATAL_CLOSE_CODES = frozenset({4004, 4013, 4014})


def intents_for(settings: DiscordSettings) -> discord.Intents:
    """Slash commands and buttons need no privileged intent; syncing members from a role
    needs the members intent."""
    intents = discord.Intents.none()
    intents.guilds = True
    if settings.member_role or settings.steward_role:
        intents.members = True
    return intents


class _CoopEvents:
    """What both clients (plain and auto-sharded) do: carry the command tree and hand
    start-up, readiness and member/role events to the adapter."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(intents=intents_for(adapter.settings), **options)  # type: ignore[call-arg]
        self.coopbot = adapter
        self.tree: app_commands.CommandTree[Any] = app_commands.CommandTree(self)  # type: ignore[arg-type]
        self.tree.on_error = adapter.on_tree_error  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        await self.coopbot.setup(self, self.tree)  # type: ignore[arg-type]

    async def on_ready(self) -> None:
        self.coopbot.ready()

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        self.coopbot.role_sync.member_changed(before, after)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        self.coopbot.role_sync.member_left(payload)

    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        self.coopbot.role_sync.role_changed(before, after)


class CoopClient(_CoopEvents, discord.Client):
    """A discord.Client for coopbot."""


class ShardedCoopClient(_CoopEvents, discord.AutoShardedClient):
    """The same client for large servers: discord.py runs the shards in one process."""


def _commands_of(source: Any) -> list[Command]:
    commands = getattr(source, "commands", source)
    if isinstance(commands, dict):
        commands = commands.values()
    return [c for c in commands if isinstance(c, Command)]


def _default_commands(core: CoreAPI | None) -> list[Command]:
    tree = getattr(core, "tree", None)
    if tree is None:
        from bot.commands.tree import build_command_tree

        tree = build_command_tree()
    return _commands_of(tree)


class _Answer:
    """Answers one interaction: the first message is the interaction's response, the rest
    are follow-ups; once deferred (the core was slow) public messages go to the channel."""

    def __init__(self, interaction: discord.Interaction[Any]) -> None:
        self.interaction = interaction
        self.deferred = False
        self.sent_ephemeral_after_defer = False

    async def defer(self) -> None:
        if not self.interaction.response.is_done():
            await self.interaction.response.defer(thinking=True, ephemeral=True)
            self.deferred = True

    async def send(self, message: OutMessage, view: discord.ui.View | None) -> int | None:
        """Send one message; returns its id (needed to link a decision card)."""
        kwargs = message.send_kwargs(view)
        interaction = self.interaction
        if self.deferred and not message.ephemeral:
            channel = interaction.channel
            if not isinstance(channel, discord.abc.Messageable):
                return None
            sent = await channel.send(**kwargs)
            return sent.id
        if not interaction.response.is_done():
            callback = await interaction.response.send_message(
                ephemeral=message.ephemeral, **kwargs
            )
            if callback.message_id is not None:
                return callback.message_id
            return (await interaction.original_response()).id
        if self.deferred:
            self.sent_ephemeral_after_defer = True
        followup = await interaction.followup.send(ephemeral=message.ephemeral, wait=True, **kwargs)
        return followup.id

    async def finish(self) -> None:
        """Every interaction gets an answer, even when the core had nothing to say."""
        if not self.interaction.response.is_done():
            await self.interaction.response.send_message(NOTHING_TO_SAY, ephemeral=True)
        elif self.deferred and not self.sent_ephemeral_after_defer:
            await self.interaction.followup.send(NOTHING_TO_SAY, ephemeral=True)


class DiscordAdapter:
    """Connects the core to Discord. `client` is the discord.py client; tests hand it to
    simcord, production runs it with `run(core)`."""

    platform = PLATFORM
    capabilities = CAPABILITIES

    def __init__(
        self,
        settings: DiscordSettings,
        *,
        core: CoreAPI | None = None,
        commands: Iterable[Command] | None = None,
        poll_seconds: float = 2.0,
        sharded: bool = False,
        shard_count: int | None = None,
        sync_commands: bool = True,
        defer_after: float = DEFER_AFTER_SECONDS,
        role_page_size: int = DEFAULT_PAGE_SIZE,
        connector: Any = None,
    ) -> None:
        self.settings = settings
        self.core = core
        self._commands = list(commands) if commands is not None else None
        self._poll_seconds = poll_seconds
        self._sync_commands = sync_commands
        self._defer_after = defer_after
        self._outbox: tasks.Loop[Any] | None = None
        self._delivering = asyncio.Lock()
        options: dict[str, Any] = {}
        if settings.application_id is not None:
            options["application_id"] = settings.application_id
        if connector is not None:  # an aiohttp connector (tests reach a loopback API)
            options["connector"] = connector
        self.client: CoopClient | ShardedCoopClient
        if sharded:
            self.client = ShardedCoopClient(self, shard_count=shard_count, **options)
        else:
            self.client = CoopClient(self, **options)
        self.role_sync = RoleSync(settings, self.client, self._core, page_size=role_page_size)
        # The core lets a steward turn role sync on only where the platform does sync roles.
        self.capabilities = CAPABILITIES | (
            {CAP_ROLE_SYNC} if self.role_sync.enabled else frozenset()
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> DiscordAdapter:
        """The adapter `coopbot run` starts when `[discord]` has a token."""
        section = settings.discord
        # `sharded` / `shard_count` are read only if the settings define them, so the
        # adapter needs no change when `[discord] sharded = true` is added to the config.
        return cls(
            section,
            poll_seconds=settings.outbox_poll_seconds,
            sharded=section.sharded,
            shard_count=section.shard_count,
        )

    # ------------------------------------------------------------------ lifecycle

    def attach(self, core: CoreAPI) -> None:
        self.core = core

    def _core(self) -> CoreAPI:
        if self.core is None:
            raise RuntimeError("DiscordAdapter used before a core was attached")
        return self.core

    async def run(self, core: CoreAPI) -> None:
        self.attach(core)
        try:
            async with self.client:
                await self.client.start(self.settings.token)
        except discord.LoginFailure as exc:
            raise PlatformRefused(f"{refused_token(exc)}; {TOKEN_HINT}") from exc
        except discord.PrivilegedIntentsRequired as exc:
            raise PlatformRefused(
                f"Discord refused the Server Members intent; {INTENT_HINT}"
            ) from exc
        except discord.ConnectionClosed as exc:
            if exc.code in FATAL_CLOSE_CODES:
                raise PlatformRefused(f"Discord closed the gateway ({exc}); {TOKEN_HINT}") from exc
            raise

    async def stop(self) -> None:
        if self._outbox is not None:
            self._outbox.cancel()
        self.role_sync.cancel()
        if self.client.is_ready() and not self.client.is_closed() and self.core is not None:
            # Stopping (SIGTERM): what is pending goes out before the client closes.
            try:
                await asyncio.wait_for(self.deliver_pending(), DRAIN_SECONDS)
            except Exception:
                log.warning("could not deliver every pending announcement before stopping")
        await self.client.close()

    def health(self) -> AdapterHealth:
        return AdapterHealth(connected=self.client.is_ready() and not self.client.is_closed())

    async def setup(self, client: discord.Client, tree: app_commands.CommandTree[Any]) -> None:
        """Register the persistent controls and the slash commands, then sync them."""
        client.add_dynamic_items(*DYNAMIC_ITEMS)
        if self._commands is None:
            self._commands = _default_commands(self.core)
        for command in build_app_commands(self._commands, self):
            tree.add_command(command)
        if not self._sync_commands:
            return
        if self.settings.guild_ids:
            # Per-guild commands appear at once; global ones can take an hour to spread.
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                tree.copy_global_to(guild=guild)
                await tree.sync(guild=guild)
        else:
            await tree.sync()

    def ready(self) -> None:
        guilds = sorted(self.client.guilds, key=lambda guild: guild.id)
        listed = ", ".join(f"{g.name} ({g.id})" for g in guilds[:GUILDS_LISTED])
        more = f" and {len(guilds) - GUILDS_LISTED} more" if len(guilds) > GUILDS_LISTED else ""
        log.info(
            "Discord: connected as %s (id %s) in %d server(s): %s%s",
            self.client.user,
            self.client.user.id if self.client.user else "?",
            len(guilds),
            listed,
            more,
        )
        # Roles may have changed while the bot was away (discord.py fires this again
        # after a reconnect that could not resume, which may also have missed changes).
        self.role_sync.request_all()
        if self._outbox is None:
            self._outbox = tasks.loop(seconds=self._poll_seconds)(self._outbox_tick)
        if not self._outbox.is_running():
            self._outbox.start()

    async def on_tree_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        log.error("slash command failed", exc_info=error)
        message = "Something went wrong on our side; nothing was changed. Please try again."
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True)

    # ---------------------------------------------------------------- interactions

    def _invocation(
        self,
        interaction: discord.Interaction[Any],
        text: str,
        mentioned: dict[str, str] | None = None,
        message_id: str | None = None,
    ) -> Invocation:
        user = interaction.user
        is_admin = isinstance(user, discord.Member) and user.guild_permissions.manage_guild
        return Invocation(
            room=RoomRef(PLATFORM, str(interaction.channel_id)),
            actor=Actor(PLATFORM, str(user.id), user.display_name, is_room_admin=is_admin),
            text=text,
            message_id=message_id or str(interaction.id),
            capabilities=self.capabilities,
            mentioned=dict(mentioned or {}),
        )

    async def _handle(self, answer: _Answer, invocation: Invocation) -> Sequence[Answer]:
        if self._defer_after <= 0:
            await answer.defer()
            return await self._core().answer(invocation)
        work = asyncio.ensure_future(self._core().answer(invocation))
        done, _ = await asyncio.wait({work}, timeout=self._defer_after)
        if not done:
            await answer.defer()
        return await work

    async def run_slash(self, interaction: discord.Interaction[Any], call: SlashCall) -> None:
        answer = _Answer(interaction)
        if call.error is not None:
            await self._answer(
                answer, [Answer(error(call.error.message, call.error.hint))], new_cards=False
            )
            return
        answers = await self._handle(
            answer, self._invocation(interaction, call.text, dict(call.mentioned))
        )
        new_cards = call.command.path[0] in NEW_CARD_COMMANDS
        await self._answer(answer, answers, new_cards=new_cards)
        replies = [a.reply for a in answers]
        await self._refresh_cards(interaction, replies)
        if (
            call.command.path in BINDING_COMMANDS
            and interaction.guild_id is not None
            and replies
            and all(r.kind != "error" for r in replies)
        ):
            self.role_sync.request(interaction.guild_id)

    async def cast_vote(
        self, interaction: discord.Interaction[Any], number: int, choice: str, reason: str = ""
    ) -> None:
        """A button, menu or form voted: the same `vote` command as `/vote`."""
        answer = _Answer(interaction)
        values = {"id": str(number), "choice": choice, "reason": reason}
        try:
            text = slash_text(self._command("vote"), values)
        except UserError as exc:
            await self._answer(answer, [Answer(error(exc.message, exc.hint))], new_cards=False)
            return
        answers = await self._handle(answer, self._invocation(interaction, text))
        await self._answer(answer, answers, new_cards=False)
        await self._refresh_cards(interaction, [a.reply for a in answers])

    def _command(self, name: str) -> Command:
        commands = self._commands if self._commands is not None else _default_commands(self.core)
        found = next((c for c in commands if c.name == name), None)
        if found is None:
            raise RuntimeError(f"the command tree has no {name!r} command")
        return found

    async def _refresh_cards(
        self, interaction: discord.Interaction[Any], replies: Sequence[Reply]
    ) -> None:
        """A vote (or a new deadline) changed a decision: its posted cards show the change.

        The core answers a vote with a private confirmation only, so the adapter asks for
        the decision's current state (a read-only `show`) and edits the cards with it."""
        subjects = {
            r.subject
            for r in replies
            if r.kind != "error" and r.subject and r.subject.startswith("decision:")
        }
        if any(self._updates_cards(r) for r in replies):
            return  # the core already sent the new state along
        for subject in subjects:
            if not await self._core().messages_about(PLATFORM, subject):
                continue
            number = subject.rsplit(":", 1)[1]
            refresh = self._invocation(
                interaction, f"show {number}", message_id=f"{interaction.id}:card"
            )
            for reply in await self._core().handle(refresh):
                if self._updates_cards(reply):
                    await self._edit_cards(reply)

    async def suggest(
        self, interaction: discord.Interaction[Any], kind: str, prefix: str
    ) -> Sequence[tuple[int, str]]:
        room = RoomRef(PLATFORM, str(interaction.channel_id))
        return await self._core().suggest(room, kind, prefix)

    async def _answer(self, answer: _Answer, answers: Sequence[Answer], *, new_cards: bool) -> None:
        channel_id = str(answer.interaction.channel_id)
        actor = f"{PLATFORM}:{answer.interaction.user.id}"
        for item in answers:
            reply = item.reply

            async def respond(_: Delivery | None = None, reply: Reply = reply) -> str | None:
                if reply.private and reply.private_to != actor:
                    # Meant for someone else than who is answered here: only their DMs will do.
                    direct = await self._send_direct(reply)
                    return str(direct) if direct is not None else None
                if self._updates_cards(reply) and not new_cards:
                    edited = await self._edit_cards(reply)
                    if edited and not self._also_post(reply):
                        return None
                sent = await self._post(reply, channel_id, answer.send)
                return str(sent) if sent is not None else None

            if item.delivery is None:
                await respond()
            else:
                # An answer that could not be given through the interaction (it expired,
                # Discord failed) is sent later from the outbox: in the channel, or as a
                # direct message when it is private.
                await self._core().deliver(item.delivery, respond)
        await answer.finish()

    # ---------------------------------------------------------------- cards

    @staticmethod
    def _updates_cards(reply: Reply) -> bool:
        return (
            reply.choices is not None
            and reply.subject is not None
            and not reply.ephemeral
            and not reply.private
        )

    @staticmethod
    def _also_post(reply: Reply) -> bool:
        # A closing is news: the card shows the result and the room also gets a message.
        return reply.choices is not None and reply.choices.closed

    async def _edit_cards(self, reply: Reply, room_id: str | None = None) -> int:
        """Edit the cards linked to the reply's subject (in `room_id` only, if given);
        returns how many cards are linked there."""
        assert reply.choices is not None and reply.subject is not None
        linked = await self._core().messages_about(PLATFORM, reply.subject)
        linked = [(room, mid) for room, mid in linked if room_id is None or room == room_id]
        # Every `show` posts a card; only the latest few follow the count, so one vote
        # never costs an unbounded number of edits.
        linked = sorted(linked, key=lambda pair: int(pair[1]))[-MAX_CARDS_EDITED:]
        if not linked:
            return 0
        if reply.choices.secret and not reply.choices.closed:
            return len(linked)  # a secret count must not move in public while it is open
        card = render_reply(reply)[0]
        for room, mid in linked:
            message = self.client.get_partial_messageable(int(room)).get_partial_message(int(mid))
            try:
                await message.edit(
                    embed=card.embed,
                    view=build_view(reply.choices),
                    allowed_mentions=card.allowed_mentions,
                )
            except discord.NotFound:
                log.info("decision card %s in %s is gone; not updating it", mid, room)
        return len(linked)

    async def _send_direct(self, reply: Reply, *, nonce: str | None = None) -> int | None:
        """Send a private reply in a direct message to the one person it is for; returns the
        first message id, or None when it cannot reach them there (then nothing is sent).
        From the outbox, each message carries a `nonce` derived from the row."""
        platform, _, user_id = (reply.private_to or "").partition(":")
        if platform != PLATFORM or not user_id.isdigit():
            log.warning("a private reply for a %s identity cannot go out on Discord", platform)
            return None
        user = self.client.get_user(int(user_id)) or await self.client.fetch_user(int(user_id))
        channel = await user.create_dm()
        first: int | None = None
        for number, message in enumerate(render_reply(reply)):
            extra: dict[str, Any] = {"nonce": f"{nonce}-{number}"} if nonce else {}
            sent = await channel.send(**extra, **message.send_kwargs(None))
            first = first if first is not None else sent.id
        return first

    async def _post(self, reply: Reply, room_id: str, send: Any) -> int | None:
        """Send a reply's messages through `send(message, view) -> id`; a card of an open
        decision gets its controls and is linked to the decision. Returns the first id."""
        first: int | None = None
        for message in render_reply(reply):
            view = None
            if message.is_card and reply.choices is not None:
                view = build_view(reply.choices)
            sent = await send(message, view)
            if first is None:
                first = sent
            if (
                message.is_card
                and sent is not None
                and reply.subject is not None
                and reply.choices is not None
                and not reply.choices.closed
                and not message.ephemeral
            ):
                await self._core().link_message(PLATFORM, room_id, str(sent), reply.subject)
        return first

    # ---------------------------------------------------------------- outbox

    async def _outbox_tick(self) -> None:
        try:
            await self.deliver_pending()
        except Exception:
            # The loop must outlive one bad round: undelivered rows are retried next time.
            log.exception("outbox delivery round failed; will retry")

    async def deliver_pending(self) -> int:
        """Send every due outbox delivery to its channel; returns how many were sent. The
        core retries a failed send with back-off (discord.py itself waits out 429s); a
        channel that is gone or forbids the bot makes a dead letter at once."""
        async with self._delivering:
            return await self._core().deliver_pending(PLATFORM, self._send_delivery)

    async def _send_delivery(self, delivery: Delivery) -> str | None:
        try:
            message_id = await self._deliver(delivery)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise PermanentSendError(
                f"cannot post to channel {delivery.room.room_id}: {exc}"
            ) from exc
        return str(message_id) if message_id is not None else None

    async def _deliver(self, delivery: Delivery) -> int | None:
        """Post one outbox delivery. Every message carries a nonce derived from the row
        (discord.py sends it with `enforce_nonce`), so a resend after a crash between the
        send and the mark returns the message Discord already has instead of a second one."""
        reply = delivery.reply
        room_id = delivery.room.room_id
        if reply.private:
            # Never the channel, whatever the room: only the person it is for.
            return await self._send_direct(reply, nonce=delivery.key)
        numbers = itertools.count()
        channel: discord.abc.Messageable
        if delivery.recipient is not None and reply.ephemeral:
            # An answer shown only to its member that missed its interaction: a DM.
            user = await self.client.fetch_user(int(delivery.recipient))
            channel = await user.create_dm()
        else:
            if self._updates_cards(reply):
                edited = await self._edit_cards(reply, room_id)
                if edited and not self._also_post(reply):
                    return None
            channel = self.client.get_partial_messageable(int(room_id))

        async def send(message: OutMessage, view: discord.ui.View | None) -> int:
            nonce = f"{delivery.key}-{next(numbers)}"
            return (await channel.send(nonce=nonce, **message.send_kwargs(view))).id

        return await self._post(reply, room_id, send)
